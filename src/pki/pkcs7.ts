// PKCS#7 / CMS "certs-only" messages (RFC 5652 SignedData with no content and no signers): how
// EST (RFC 7030) carries certificates, in /cacerts and the enrollment replies.

import { Buffer } from 'node:buffer';
import { OID } from './oids.js';
import { explicit, oid, seq, set, smallInteger, tlv } from './der.js';

const SIGNED_DATA = oid(OID.pkcs7SignedData);
const VERSION_1 = smallInteger(1);
const NO_DIGEST_ALGORITHMS = set();
const NO_CONTENT = seq(oid(OID.pkcs7Data));
const NO_SIGNERS = set();

/**
 * ContentInfo { signedData, SignedData { v1, {}, data, [0] certificates, {} } }. The certificates
 * are a DER SET OF, so they are sorted by their encodings; they are written byte for byte as given.
 */
export function certsOnly(certificates: readonly Uint8Array[]): Buffer {
  const sorted = certificates.length > 1 ? [...certificates].sort((a, b) => Buffer.compare(a, b)) : certificates;
  const signedData = seq(VERSION_1, NO_DIGEST_ALGORITHMS, NO_CONTENT, tlv(0xa0, ...sorted), NO_SIGNERS);
  return seq(SIGNED_DATA, explicit(0, signedData));
}
