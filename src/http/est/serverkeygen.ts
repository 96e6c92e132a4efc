// /serverkeygen (RFC 7030 §4.4): the CA makes the key pair. The client's CSR says which names it
// wants (and proves it can sign, with whatever key it has); the request that reaches the Issuer
// is rebuilt around the new P-256 key, so the ordinary path checks and signs it like any other.
// The reply is multipart/mixed: the private key as PKCS#8 (protected by TLS, §4.4.2), then the
// certificate as certs-only PKCS#7.

import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { encodeCsr, subjectOfCsr } from '../../pki/csr-encode.js';
import type { CheckedCsr } from '../../pki/csr.js';
import { encodeBase64Body } from './wire.js';

export interface ServerKey {
  readonly privateKey: KeyObject;
  /** The CSR to issue against: the client's subject and names, the server's key. */
  readonly csrDer: Buffer;
}

export async function makeServerKey(clientCsr: CheckedCsr): Promise<ServerKey> {
  const privateKey = await new Promise<KeyObject>((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: 'prime256v1' }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
  return { privateKey, csrDer: encodeCsr(privateKey, subjectOfCsr(clientCsr.der), clientCsr.requested) };
}

export function multipartKeyAndCertificate(privateKey: KeyObject, pkcs7: Uint8Array): { contentType: string; body: string } {
  const boundary = `est-${randomBytes(12).toString('hex')}`;
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const body =
    `--${boundary}\r\n` +
    'Content-Type: application/pkcs8\r\n' +
    'Content-Transfer-Encoding: base64\r\n\r\n' +
    encodeBase64Body(pkcs8) +
    `--${boundary}\r\n` +
    'Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n' +
    'Content-Transfer-Encoding: base64\r\n\r\n' +
    encodeBase64Body(pkcs7) +
    `--${boundary}--\r\n`;
  return { contentType: `multipart/mixed; boundary=${boundary}`, body };
}
