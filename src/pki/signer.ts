// What signs for the issuing CA. The Issuer and the CRL builder sign through this and never hold
// key material; implementations decide where the key lives (a key file in memory, an HSM).

import type { KeyObject } from 'node:crypto';
import { publicKeyBits, signEcdsaSha256, spkiDer } from './keys.js';
import { keyIdentifier } from './certificate.js';

export interface Signer {
  /** The issuing CA certificate this key signs as, DER. */
  readonly certificateDer: Buffer;
  /** The signing key's SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  /** Authority key identifier of what this signer issues (RFC 5280 method 1 over the key). */
  readonly keyId: Buffer;
  /**
   * ecdsa-with-SHA256 over `data`, DER-encoded. A key in memory answers synchronously, so the
   * hot path pays no thread hop and no extra tick; an HSM answers with a promise.
   */
  sign(data: Uint8Array): Buffer | Promise<Buffer>;
  /** Releases the key (an HSM session); a no-op for a key in memory. */
  close(): Promise<void>;
}

/** A key held in this process's memory (loaded from a key file, or made by a test). */
export function keyObjectSigner(certificateDer: Buffer, privateKey: KeyObject): Signer {
  const spki = spkiDer(privateKey);
  return {
    certificateDer,
    spki,
    keyId: keyIdentifier(publicKeyBits(spki)),
    sign: (data) => signEcdsaSha256(privateKey, data),
    close: async () => undefined,
  };
}
