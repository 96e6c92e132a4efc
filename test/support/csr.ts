// Builds PKCS#10 requests for tests, including malformed ones no real tool would write. Written
// with the tests' own DER writer, never the CA's, so the requests are an outside view of the format.

import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { NULL, OIDS, TRUE, bitString, commonNameOnly, explicit, hex, octets, oid, pem, seq, set, tlv } from './der.js';

export type TestKeyType = 'p256' | 'p384' | 'secp256k1' | 'rsa2048' | 'rsa1024';

export function testKey(type: TestKeyType = 'p256'): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (type) {
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'secp256k1':
      return generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    case 'rsa2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa1024':
      return generateKeyPairSync('rsa', { modulusLength: 1024 });
  }
}

export interface TestExtension {
  readonly oid: string;
  readonly critical?: boolean;
  readonly value: Buffer;
}

export function sanExtension(names: { uris?: string[]; dns?: string[] }): TestExtension {
  const parts = [...(names.uris ?? []).map((u) => tlv(0x86, Buffer.from(u))), ...(names.dns ?? []).map((d) => tlv(0x82, Buffer.from(d)))];
  return { oid: OIDS.subjectAltName, value: seq(...parts) };
}

/** basicConstraints cA=true: a CSR asking to become a CA, which the leaf must ignore. */
export const caRequestExtension: TestExtension = { oid: OIDS.basicConstraints, critical: true, value: seq(TRUE) };
/** keyUsage keyCertSign + cRLSign. */
export const keyCertSignExtension: TestExtension = { oid: OIDS.keyUsage, critical: true, value: hex('03 02 01 06') };

export interface CsrOptions {
  key?: { privateKey: KeyObject; publicKey: KeyObject };
  extensions?: TestExtension[];
  commonName?: string;
  /** Flip a byte of the signature. */
  badSignature?: boolean;
  trailing?: Buffer;
}

export function buildCsr(opts: CsrOptions = {}): { der: Buffer; pem: string; key: KeyObject } {
  const key = opts.key ?? testKey('p256');
  const spki = key.publicKey.export({ format: 'der', type: 'spki' });
  const exts = opts.extensions ?? [];
  const attributes = exts.length
    ? seq(
        oid(OIDS.extensionRequest),
        set(seq(...exts.map((e) => (e.critical ? seq(oid(e.oid), TRUE, octets(e.value)) : seq(oid(e.oid), octets(e.value)))))),
      )
    : Buffer.alloc(0);
  const info = seq(hex('020100'), commonNameOnly(opts.commonName), spki, explicit(0, attributes));
  const isRsa = key.privateKey.asymmetricKeyType === 'rsa';
  const signature = sign('sha256', info, isRsa ? key.privateKey : { key: key.privateKey, dsaEncoding: 'der' });
  if (opts.badSignature) signature[signature.length - 5]! ^= 0x01;
  const alg = isRsa ? seq(oid(OIDS.sha256WithRsa), NULL) : seq(oid(OIDS.ecdsaWithSha256));
  let der = seq(info, alg, bitString(signature));
  if (opts.trailing) der = Buffer.concat([der, opts.trailing]);
  return { der, pem: pem(der, 'CERTIFICATE REQUEST'), key: key.privateKey };
}
