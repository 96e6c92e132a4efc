// The one way any part of the server gets the issuing CA's signer, from the configuration: a key
// file or an HSM. Replicas (the Issuer) and the CRL publisher call this; the key material stays
// inside the signer it returns.

import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Signer } from '../pki/signer.js';
import { isEncryptedKeyFile, openFileSigner } from './file-signer.js';
import { openPkcs11Signer } from './pkcs11-signer.js';

export type SignerConfig = Pick<Config, 'ca'>;

export async function openSigner(config: SignerConfig): Promise<Signer> {
  const ca = config.ca;
  if (ca.pkcs11 !== null) return openPkcs11Signer(ca.pkcs11, new X509Certificate(readFileSync(ca.issuingCert)).raw);
  return openFileSigner({
    issuingCert: ca.issuingCert,
    issuingKey: ca.issuingKey,
    ...(ca.passphrase === undefined ? {} : { passphrase: ca.passphrase }),
  }).signer;
}

export type CustodyVerdict = { readonly kind: 'ok' } | { readonly kind: 'warn' | 'refuse'; readonly message: string };

/**
 * What start-up must do about how the issuing key is kept: production (Postgres and Redis)
 * refuses a key file anyone who can read it can use, unless the operator said so explicitly;
 * the embedded development mode only warns.
 */
export function checkKeyCustody(config: SignerConfig, production: boolean): CustodyVerdict {
  const ca = config.ca;
  if (ca.signer === 'pkcs11' || isEncryptedKeyFile(ca.issuingKey)) return { kind: 'ok' };
  const plain = `the issuing key ${ca.issuingKey} is not encrypted`;
  if (!production)
    return {
      kind: 'warn',
      message: `${plain}: fine for development; encrypt it (workload-ca init --passphrase-file) or use an HSM (ca.signer: pkcs11) in production`,
    };
  if (ca.allowUnencryptedKey) return { kind: 'warn', message: `${plain} (allowed by ca.allowUnencryptedKey)` };
  return {
    kind: 'refuse',
    message: `${plain}: production mode needs an encrypted key (ca.passphraseFile) or an HSM (ca.signer: pkcs11); set ca.allowUnencryptedKey (WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY=true) to run with it anyway`,
  };
}
