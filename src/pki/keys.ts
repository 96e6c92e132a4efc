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
 * ECDSA with SHA-256, DER signature. The callback form of crypto.sign runs on libuv's thread
 * pool, so signatures do not block the event loop.
 */
export function signEcdsaSha256(key: KeyObject, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign('sha256', data, { key, dsaEncoding: 'der' }, (err, signature) => (err ? reject(err) : resolve(signature)));
  });
}
