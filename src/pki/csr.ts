// PKCS#10 certificate requests: strict parsing and the proof-of-possession check.
//
// What a CSR asks for is only a request. The caller hands the requested names to the policy;
// nothing here (or anywhere) copies an extension from the CSR into a certificate.

import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { DerError, TAG, bytesOf, childrenOf, contentOf, decodeOid, expectTag, readWhole, type Tlv } from './der.js';
import { OID } from './oids.js';
import { formatIp as formatIpBytes } from '../ip/codec.js';

export const MAX_CSR_BYTES = 8 * 1024;
export const MAX_REQUESTED_SANS = 100;

export type SubjectKeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

export type CsrErrorCode =
  | 'too-large'
  | 'malformed'
  | 'duplicate-extension'
  | 'unsupported-key'
  | 'unsupported-signature-algorithm'
  | 'unsupported-name'
  | 'too-many-names'
  | 'bad-signature';

export interface CsrError {
  readonly code: CsrErrorCode;
  readonly message: string;
}

export interface ParsedCsr {
  readonly der: Uint8Array;
  /** The SubjectPublicKeyInfo, byte for byte as the requester sent it. */
  readonly spki: Uint8Array;
  /** The BIT STRING contents of the public key (without the unused-bits byte), for the SKI. */
  readonly publicKeyBits: Uint8Array;
  readonly publicKey: KeyObject;
  readonly keyKind: SubjectKeyKind;
  readonly commonName: string | null;
  readonly requested: {
    readonly uris: readonly string[];
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
  };
  /** RFC 2985 challengePassword, used by EST for channel binding. */
  readonly challengePassword: string | null;
  /** What the signature must be checked over, and with what. */
  readonly signed: { readonly data: Uint8Array; readonly hash: string; readonly signature: Uint8Array };
}

export type CsrResult = { readonly ok: true; readonly csr: ParsedCsr } | { readonly ok: false; readonly error: CsrError };

const SIGNATURE_HASHES: Readonly<Record<string, { hash: string; family: 'ec' | 'rsa' }>> = {
  [OID.ecdsaWithSha256]: { hash: 'sha256', family: 'ec' },
  [OID.ecdsaWithSha384]: { hash: 'sha384', family: 'ec' },
  [OID.ecdsaWithSha512]: { hash: 'sha512', family: 'ec' },
  [OID.sha256WithRsa]: { hash: 'sha256', family: 'rsa' },
  [OID.sha384WithRsa]: { hash: 'sha384', family: 'rsa' },
  [OID.sha512WithRsa]: { hash: 'sha512', family: 'rsa' },
};

class CsrRejected extends Error {
  constructor(
    readonly code: CsrErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a DER CSR strictly. Does not check the signature: see {@link verifyProofOfPossession}. */
export function parseCsr(der: Uint8Array): CsrResult {
  if (der.length > MAX_CSR_BYTES) {
    return fail('too-large', `CSR is ${der.length} bytes; the limit is ${MAX_CSR_BYTES}`);
  }
  try {
    return { ok: true, csr: parseStrict(der) };
  } catch (err) {
    if (err instanceof CsrRejected) return fail(err.code, err.message);
    if (err instanceof DerError) return fail('malformed', `CSR is not valid DER: ${err.message}`);
    throw err;
  }
}

/**
 * The CSR's signature, made with the key it carries, proves the requester holds that key.
 * Synchronous for the reason given at signEcdsaSha256.
 */
export function verifyProofOfPossession(csr: ParsedCsr): boolean {
  const { data, hash, signature } = csr.signed;
  try {
    return verifySignature(hash, data, { key: csr.publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

declare const checked: unique symbol;

/**
 * A CSR that parsed strictly and whose signature verified with its own key. Only checkCsr makes
 * one, so code holding a CheckedCsr never parses or verifies it again, and cannot hold one that
 * skipped either step.
 */
export type CheckedCsr = ParsedCsr & { readonly [checked]: true };

export type CsrCheck = { readonly ok: true; readonly csr: CheckedCsr } | { readonly ok: false; readonly error: CsrError };

/** parseCsr, then the proof of possession: the one way to a CheckedCsr. */
export function checkCsr(der: Uint8Array): CsrCheck {
  const parsed = parseCsr(der);
  if (!parsed.ok) return parsed;
  if (!verifyProofOfPossession(parsed.csr)) {
    return fail('bad-signature', 'CSR signature does not verify with its own public key');
  }
  return { ok: true, csr: parsed.csr as CheckedCsr };
}

function fail(code: CsrErrorCode, message: string): { readonly ok: false; readonly error: CsrError } {
  return { ok: false, error: { code, message } };
}

function parseStrict(der: Uint8Array): ParsedCsr {
  const top = expectTag(readWhole(der), TAG.SEQUENCE, 'CertificationRequest SEQUENCE');
  const [infoTlv, algTlv, sigTlv, ...extra] = childrenOf(der, top);
  if (extra.length > 0) throw new DerError('CertificationRequest has extra elements');
  const info = expectTag(infoTlv, TAG.SEQUENCE, 'CertificationRequestInfo');
  const signatureAlg = readAlgorithm(der, expectTag(algTlv, TAG.SEQUENCE, 'signatureAlgorithm'));
  const sigBits = contentOf(der, expectTag(sigTlv, TAG.BIT_STRING, 'signature BIT STRING'));
  if (sigBits[0] !== 0) throw new DerError('signature BIT STRING has unused bits');

  const [versionTlv, subjectTlv, spkiTlv, attrsTlv, ...rest] = childrenOf(der, info);
  if (rest.length > 0) throw new DerError('CertificationRequestInfo has extra elements');
  const version = contentOf(der, expectTag(versionTlv, TAG.INTEGER, 'version'));
  if (version.length !== 1 || version[0] !== 0) throw new DerError('CSR version must be 0 (v1)');
  const subject = expectTag(subjectTlv, TAG.SEQUENCE, 'subject Name');
  const spki = expectTag(spkiTlv, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const attrs = expectTag(attrsTlv, 0xa0, 'attributes [0]');

  const key = readSubjectKey(der, spki);
  const sig = SIGNATURE_HASHES[signatureAlg.oid];
  if (!sig) {
    throw new CsrRejected('unsupported-signature-algorithm', `CSR signature algorithm ${signatureAlg.oid} is not supported`);
  }
  if (sig.family !== (key.kind.startsWith('rsa') ? 'rsa' : 'ec')) {
    throw new CsrRejected('unsupported-signature-algorithm', 'CSR signature algorithm does not match its key type');
  }
  const attributes = readAttributes(der, attrs);

  return {
    der,
    spki: bytesOf(der, spki),
    publicKeyBits: key.bits,
    publicKey: key.object,
    keyKind: key.kind,
    commonName: readCommonName(der, subject),
    requested: attributes.requested,
    challengePassword: attributes.challengePassword,
    signed: { data: bytesOf(der, info), hash: sig.hash, signature: sigBits.subarray(1) },
  };
}

function readAlgorithm(der: Uint8Array, alg: Tlv): { oid: string; params: Tlv | undefined } {
  const [oidTlv, params, ...rest] = childrenOf(der, alg);
  if (rest.length > 0) throw new DerError('AlgorithmIdentifier has extra elements');
  return { oid: decodeOid(contentOf(der, expectTag(oidTlv, TAG.OID, 'algorithm OID'))), params };
}

const EC_CURVES: Readonly<Record<string, { kind: SubjectKeyKind; crv: string; size: number }>> = {
  [OID.prime256v1]: { kind: 'ecdsa-p256', crv: 'P-256', size: 32 },
  [OID.secp384r1]: { kind: 'ecdsa-p384', crv: 'P-384', size: 48 },
};

function readSubjectKey(der: Uint8Array, spki: Tlv): { kind: SubjectKeyKind; object: KeyObject; bits: Uint8Array } {
  const [algTlv, keyTlv, ...rest] = childrenOf(der, spki);
  if (rest.length > 0) throw new DerError('SubjectPublicKeyInfo has extra elements');
  const alg = readAlgorithm(der, expectTag(algTlv, TAG.SEQUENCE, 'key AlgorithmIdentifier'));
  const bitString = contentOf(der, expectTag(keyTlv, TAG.BIT_STRING, 'subjectPublicKey'));
  if (bitString[0] !== 0) throw new DerError('subjectPublicKey has unused bits');
  const bits = bitString.subarray(1);

  if (alg.oid === OID.ecPublicKey) {
    const curveOid = alg.params?.tag === TAG.OID ? decodeOid(contentOf(der, alg.params)) : 'missing';
    const curve = EC_CURVES[curveOid];
    if (!curve) throw new CsrRejected('unsupported-key', `EC curve ${curveOid} is not supported`);
    if (bits.length !== 1 + 2 * curve.size || bits[0] !== 0x04) {
      throw new CsrRejected('unsupported-key', 'EC public key must be an uncompressed point');
    }
    // Importing as JWK costs half of what OpenSSL's SPKI decoder does, and still checks the point.
    const x = Buffer.from(bits.subarray(1, 1 + curve.size)).toString('base64url');
    const y = Buffer.from(bits.subarray(1 + curve.size)).toString('base64url');
    return { kind: curve.kind, object: importKey({ key: { kty: 'EC', crv: curve.crv, x, y }, format: 'jwk' }), bits };
  }
  if (alg.oid === OID.rsaEncryption) {
    const object = importKey({ key: Buffer.from(bytesOf(der, spki)), format: 'der', type: 'spki' });
    const size = object.asymmetricKeyDetails?.modulusLength;
    if (size === 2048 || size === 3072 || size === 4096) return { kind: `rsa-${size}`, object, bits };
    throw new CsrRejected('unsupported-key', `RSA-${size ?? '?'} keys are not supported`);
  }
  throw new CsrRejected('unsupported-key', `key algorithm ${alg.oid} is not supported`);
}

function importKey(input: Parameters<typeof createPublicKey>[0]): KeyObject {
  try {
    return createPublicKey(input);
  } catch {
    throw new CsrRejected('unsupported-key', 'CSR public key could not be decoded');
  }
}

interface Attributes {
  requested: ParsedCsr['requested'];
  challengePassword: string | null;
}

function readAttributes(der: Uint8Array, attrs: Tlv): Attributes {
  const out: Attributes = { requested: { uris: [], dnsNames: [], ipAddresses: [] }, challengePassword: null };
  const seen = new Set<string>();
  for (const attr of childrenOf(der, attrs)) {
    const [typeTlv, valuesTlv] = childrenOf(der, expectTag(attr, TAG.SEQUENCE, 'Attribute'));
    const type = decodeOid(contentOf(der, expectTag(typeTlv, TAG.OID, 'attribute type')));
    if (seen.has(type)) throw new CsrRejected('duplicate-extension', `attribute ${type} appears twice`);
    seen.add(type);
    const values = childrenOf(der, expectTag(valuesTlv, TAG.SET, 'attribute values SET'));
    if (values.length !== 1) throw new DerError(`attribute ${type} must have exactly one value`);
    if (type === OID.extensionRequest) out.requested = readExtensionRequest(der, values[0]!);
    else if (type === OID.challengePassword) out.challengePassword = readString(der, values[0]!);
  }
  return out;
}

function readExtensionRequest(der: Uint8Array, exts: Tlv): Attributes['requested'] {
  const seen = new Set<string>();
  let requested: Attributes['requested'] = { uris: [], dnsNames: [], ipAddresses: [] };
  for (const ext of childrenOf(der, expectTag(exts, TAG.SEQUENCE, 'Extensions'))) {
    const parts = childrenOf(der, expectTag(ext, TAG.SEQUENCE, 'Extension'));
    const id = decodeOid(contentOf(der, expectTag(parts[0], TAG.OID, 'extnID')));
    if (seen.has(id)) throw new CsrRejected('duplicate-extension', `extension ${id} appears twice`);
    seen.add(id);
    const value = parts[parts.length - 1];
    expectTag(value, TAG.OCTET_STRING, 'extnValue');
    if (parts.length === 3) expectTag(parts[1], TAG.BOOLEAN, 'critical');
    else if (parts.length !== 2) throw new DerError('Extension has the wrong number of elements');
    // Only the names are read, as a request; every other extension is ignored by design.
    if (id === OID.subjectAltName) requested = readGeneralNames(contentOf(der, value!));
  }
  return requested;
}

function readGeneralNames(inner: Uint8Array): Attributes['requested'] {
  const names = childrenOf(inner, expectTag(readWhole(inner), TAG.SEQUENCE, 'GeneralNames'));
  if (names.length > MAX_REQUESTED_SANS) {
    throw new CsrRejected('too-many-names', `CSR asks for ${names.length} names; the limit is ${MAX_REQUESTED_SANS}`);
  }
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of names) {
    const raw = contentOf(inner, name);
    switch (name.tag) {
      case 0x82:
        dnsNames.push(ascii(raw));
        break;
      case 0x86:
        uris.push(ascii(raw));
        break;
      case 0x87:
        ipAddresses.push(formatIp(raw));
        break;
      default:
        throw new CsrRejected('unsupported-name', `SAN type [${name.tag & 0x1f}] is not issued by this CA`);
    }
  }
  return { uris, dnsNames, ipAddresses };
}

function ascii(raw: Uint8Array): string {
  for (const b of raw) if (b < 0x21 || b > 0x7e) throw new DerError('name contains non-printable characters');
  return Buffer.from(raw).toString('latin1');
}

/** A SAN's iPAddress bytes as text, through the one IP codec; anything but 4 or 16 bytes is malformed DER. */
export function formatIp(raw: Uint8Array): string {
  const formatted = formatIpBytes(raw);
  if (!formatted.ok) throw new DerError('iPAddress must be 4 or 16 bytes');
  return formatted.text;
}

function readString(der: Uint8Array, value: Tlv): string {
  const stringTags: number[] = [TAG.UTF8_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING];
  if (!stringTags.includes(value.tag)) throw new DerError('expected a string value');
  return Buffer.from(contentOf(der, value)).toString('utf8');
}

function readCommonName(der: Uint8Array, name: Tlv): string | null {
  for (const rdn of childrenOf(der, name)) {
    for (const atv of childrenOf(der, expectTag(rdn, TAG.SET, 'RelativeDistinguishedName'))) {
      const [typeTlv, valueTlv] = childrenOf(der, expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      const type = decodeOid(contentOf(der, expectTag(typeTlv, TAG.OID, 'attribute type')));
      if (type === OID.commonName && valueTlv) return readString(der, valueTlv);
    }
  }
  return null;
}
