// What signs for the issuing CA. The Issuer and the CRL builder sign through this and never hold
// key material; implementations decide where the key lives (a key file in memory, an HSM).

import type { KeyObject } from 'node:crypto';
import { publicKeyBits, signEcdsaSha256, spkiDer } from './keys.js';
import { keyIdentifier } from './certificate.js';
import { seq, unsignedInteger } from './der.js';

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

/**
 * Where the Issuer finds its signer on every issuance. Reading it through this holder, rather
 * than keeping the signer, is what lets a CA rotation make another key active at run time.
 */
export interface SignerSource {
  readonly current: Signer;
}

/** A SignerSource whose signer can be replaced while the process serves. */
export class SignerSlot implements SignerSource {
  constructor(private signer: Signer) {}

  get current(): Signer {
    return this.signer;
  }

  /** Makes `next` the signer of every issuance from now on; returns the one it replaced (to close once idle). */
  swap(next: Signer): Signer {
    const previous = this.signer;
    this.signer = next;
    return previous;
  }
}

/**
 * An ECDSA signature as PKCS#11 (CKM_ECDSA) and WebCrypto give it, r || s each padded to the
 * curve's size, re-encoded as the DER Ecdsa-Sig-Value (RFC 3279 §2.2.3) a certificate carries.
 */
export function ecdsaSignatureDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error(`an ECDSA signature of ${raw.length} bytes is not r || s`);
  const half = raw.length / 2;
  return seq(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}
