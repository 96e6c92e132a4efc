// The issuing key in a PKCS#8 file, encrypted with a passphrase (or, in development, not). The
// key is decrypted once at start into a KeyObject that never leaves this signer: signing stays
// synchronous on the event loop, with no thread hop and no copy per issuance.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importPrivateKey } from '../pki/keys.js';
import { keyObjectSigner, type Signer } from '../pki/signer.js';

export interface KeyFile {
  readonly issuingCert: string;
  readonly issuingKey: string;
  readonly passphrase?: string;
}

export interface OpenedFileSigner {
  readonly signer: Signer;
  /** Whether the file is encrypted PKCS#8; production refuses a plain one unless told otherwise. */
  readonly encrypted: boolean;
}

/** PEM label of encrypted PKCS#8 (RFC 7468 §11). */
const ENCRYPTED_PEM = /^-----BEGIN ENCRYPTED PRIVATE KEY-----/m;

export function isEncryptedKeyFile(path: string): boolean {
  return ENCRYPTED_PEM.test(readFileSync(path, 'utf8'));
}

export function openFileSigner(files: KeyFile): OpenedFileSigner {
  const certificate = new X509Certificate(readFileSync(files.issuingCert));
  const pem = readFileSync(files.issuingKey, 'utf8');
  const encrypted = ENCRYPTED_PEM.test(pem);
  if (encrypted && files.passphrase === undefined) {
    throw new Error(`${files.issuingKey} is encrypted: set ca.passphraseFile (WORKLOAD_CA_KEY_PASSPHRASE_FILE) or ca.passphrase`);
  }
  let key;
  try {
    key = importPrivateKey(pem, encrypted ? files.passphrase : undefined);
  } catch (err) {
    throw new Error(`cannot read the issuing key ${files.issuingKey}${encrypted ? ' (wrong passphrase?)' : ''}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!certificate.checkPrivateKey(key)) throw new Error(`${files.issuingKey} does not match ${files.issuingCert}`);
  return { signer: keyObjectSigner(certificate.raw, key), encrypted };
}
