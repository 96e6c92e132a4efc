// Key generation, storage formats and signing with node:crypto KeyObjects.

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateP256(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** PKCS#8 PEM; encrypted (PBES2, AES-256-CBC) when a passphrase is given. */
export function exportPrivateKey(key: KeyObject, passphrase?: string): string {
  if (passphrase === undefined) return key.export({ format: 'pem', type: 'pkcs8' }).toString();
  return key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }).toString();
}

export function importPrivateKey(pem: string, passphrase?: string): KeyObject {
  return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
}

export function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
}

/**
 * The subjectPublicKey BIT STRING contents (without the unused-bits byte). For P-256 SPKI the
 * layout is fixed: 26 bytes of header, then the 0x00 unused-bits byte and the 65-byte point.
 */
export function publicKeyBits(spki: Buffer): Buffer {
  return spki.subarray(spki.length - 65);
}

/**
 * ECDSA with SHA-256, DER signature. Synchronous on purpose: measured on the 2-core target, the
 * thread-pool form costs about 40% more CPU per signature (hand-off and wake-up) and adds
 * latency, while `serve` already runs one process per core, so the event loop is the right
 * place for a 40 µs operation.
 */
export function signEcdsaSha256(key: KeyObject, data: Uint8Array): Buffer {
  return sign('sha256', data, { key, dsaEncoding: 'der' });
}
