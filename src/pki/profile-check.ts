// A read-back of every leaf before it is released.
//
// The certificate is decoded with the strict DER reader, which shares no code with the
// splicing writer that produced it, and every field is compared with what the policy decided.
// (A general-purpose parser such as pkijs costs about a millisecond a certificate here; the tests
// use pkijs and openssl as the independent outside readers.)

import { OID } from './oids.js';
import { SERIAL_BYTES, ipBytes, keyIdentifier, type SubjectAltNames } from './certificate.js';
import { formatIp } from './csr.js';
import { TAG, bytesOf, childrenOf, contentOf, decodeOid, expectTag, readWhole, type Tlv } from './der.js';

export interface LeafExpectation {
  readonly issuerSubject: Uint8Array;
  readonly issuerKeyId: Uint8Array;
  readonly spki: Uint8Array;
  readonly names: SubjectAltNames;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The CRL URL the rule asked the certificate to name; absent or null: the extension is refused. */
  readonly crlDistributionPoint?: string | null;
}

const LEAF_EXTENSIONS = [
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
  OID.subjectKeyIdentifier,
];

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** Returns null when the certificate matches the X509-SVID profile, else what is wrong. */
export function checkLeafProfile(der: Uint8Array, want: LeafExpectation): string | null {
  try {
    return check(der, want);
  } catch (err) {
    return `does not decode: ${(err as Error).message}`;
  }
}

function check(der: Uint8Array, want: LeafExpectation): string | null {
  const [tbsTlv, outerAlg, sig] = childrenOf(der, readWhole(der));
  if (!tbsTlv || !outerAlg || !sig) return 'certificate must have three fields';
  if (algorithm(der, outerAlg) !== OID.ecdsaWithSha256) return 'signature is not ecdsa-with-SHA256';
  const [version, serial, alg, issuer, validity, subject, spki, exts, ...extra] = childrenOf(der, tbsTlv);
  if (extra.length > 0 || !exts) return 'TBS has the wrong number of fields';

  const v = contentOf(der, expectTag(childrenOf(der, expectTag(version, 0xa0, 'version'))[0], TAG.INTEGER, 'version'));
  if (v.length !== 1 || v[0] !== 2) return 'not version 3';
  const s = contentOf(der, expectTag(serial, TAG.INTEGER, 'serial'));
  if (s.length !== SERIAL_BYTES || (s[0]! & 0x80) !== 0) return 'serial is not 16 positive bytes';
  if (algorithm(der, alg!) !== OID.ecdsaWithSha256) return 'TBS signature algorithm is not ecdsa-with-SHA256';
  if (!same(bytesOf(der, issuer!), want.issuerSubject)) return 'issuer is not the issuing CA';
  const [nb, na] = childrenOf(der, expectTag(validity, TAG.SEQUENCE, 'validity'));
  if (readTime(der, nb!) !== want.notBefore.getTime() || readTime(der, na!) !== want.notAfter.getTime()) {
    return 'validity differs from the decision';
  }
  if (subject!.end - subject!.contentStart !== 0) return 'subject must be empty';
  if (!same(bytesOf(der, spki!), want.spki)) return 'public key is not the CSR key';

  const found = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const ext of childrenOf(der, expectTag(childrenOf(der, expectTag(exts, 0xa3, 'extensions'))[0], TAG.SEQUENCE, 'Extensions'))) {
    const parts = childrenOf(der, ext);
    const id = decodeOid(contentOf(der, expectTag(parts[0], TAG.OID, 'extnID')));
    if (found.has(id)) return `duplicate extension ${id}`;
    found.set(id, { critical: parts.length === 3, value: contentOf(der, parts[parts.length - 1]!) });
  }
  const cdpUrl = want.crlDistributionPoint ?? null;
  const expected = cdpUrl === null ? LEAF_EXTENSIONS : [...LEAF_EXTENSIONS, OID.crlDistributionPoints];
  if (found.size !== expected.length || !expected.every((id) => found.has(id))) {
    return `unexpected extension set ${[...found.keys()].join(',')}`;
  }
  if (cdpUrl !== null) {
    const cdp = found.get(OID.crlDistributionPoints)!;
    if (cdp.critical || distributionPointUri(cdp.value) !== cdpUrl) return 'CRL distribution point is not the one URL asked for';
  }
  const bc = found.get(OID.basicConstraints)!;
  if (!bc.critical || !same(bc.value, Buffer.from([0x30, 0x00]))) return 'basicConstraints must be critical with cA=false';
  const ku = found.get(OID.keyUsage)!;
  if (!ku.critical || !same(ku.value, Buffer.from([0x03, 0x02, 0x07, 0x80]))) return 'keyUsage must be critical digitalSignature only';

  const eku = sequenceOf(found.get(OID.extKeyUsage)!.value).map(({ buf, tlv }) => decodeOid(contentOf(buf, tlv)));
  if (eku.length !== 2 || !eku.includes(OID.serverAuth) || !eku.includes(OID.clientAuth)) return 'EKU must be serverAuth and clientAuth';

  const aki = sequenceOf(found.get(OID.authorityKeyIdentifier)!.value);
  if (aki.length !== 1 || aki[0]!.tlv.tag !== 0x80 || !same(contentOf(aki[0]!.buf, aki[0]!.tlv), want.issuerKeyId)) {
    return 'AKI does not name the issuing key';
  }
  const skiValue = found.get(OID.subjectKeyIdentifier)!.value;
  const keyBits = contentOf(der, childrenOf(der, spki!)[1]!).subarray(1);
  if (!same(contentOf(skiValue, readWhole(skiValue)), keyIdentifier(keyBits))) return 'SKI does not match the key';

  const san = found.get(OID.subjectAltName)!;
  if (!san.critical) return 'SAN must be critical when the subject is empty';
  const names = sequenceOf(san.value);
  const uris = names.filter((n) => n.tlv.tag === 0x86).map((n) => Buffer.from(contentOf(n.buf, n.tlv)).toString('latin1'));
  const dns = names.filter((n) => n.tlv.tag === 0x82).map((n) => Buffer.from(contentOf(n.buf, n.tlv)).toString('latin1'));
  const ips = names.filter((n) => n.tlv.tag === 0x87).map((n) => formatIp(contentOf(n.buf, n.tlv)));
  if (uris.length !== 1 || uris[0] !== want.names.uris[0]) return 'SAN must hold exactly the one SPIFFE ID';
  if (dns.join() !== want.names.dnsNames.join()) return 'DNS SANs differ from the decision';
  if (ips.join() !== want.names.ipAddresses.map((ip) => formatIp(ipBytes(ip))).join()) return 'IP SANs differ from the decision';
  if (names.length !== uris.length + dns.length + ips.length) return 'unexpected SAN entries';
  return null;
}

/** The URI of a CRLDistributionPoints holding exactly one DistributionPoint with one fullName URI; else null. */
function distributionPointUri(value: Uint8Array): string | null {
  const points = sequenceOf(value);
  if (points.length !== 1 || points[0]!.tlv.tag !== TAG.SEQUENCE) return null;
  const [name, ...rest] = childrenOf(value, points[0]!.tlv);
  if (!name || rest.length > 0 || name.tag !== 0xa0) return null;
  const [fullName, ...others] = childrenOf(value, name);
  if (!fullName || others.length > 0 || fullName.tag !== 0xa0) return null;
  const [uri, ...more] = childrenOf(value, fullName);
  if (!uri || more.length > 0 || uri.tag !== 0x86) return null;
  return Buffer.from(contentOf(value, uri)).toString('latin1');
}

function algorithm(der: Uint8Array, alg: Tlv): string {
  const [id, ...params] = childrenOf(der, expectTag(alg, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  if (params.length > 0) throw new Error('ECDSA algorithm identifiers carry no parameters');
  return decodeOid(contentOf(der, expectTag(id, TAG.OID, 'algorithm')));
}

function sequenceOf(value: Uint8Array): { buf: Uint8Array; tlv: Tlv }[] {
  return childrenOf(value, expectTag(readWhole(value), TAG.SEQUENCE, 'SEQUENCE')).map((tlv) => ({ buf: value, tlv }));
}

function readTime(der: Uint8Array, t: Tlv): number {
  const text = Buffer.from(contentOf(der, t)).toString('latin1');
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw new Error(`bad time ${text}`);
  let year = Number(m[1]);
  if (t.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  else if (t.tag !== TAG.GENERALIZED_TIME) throw new Error('expected a time');
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
