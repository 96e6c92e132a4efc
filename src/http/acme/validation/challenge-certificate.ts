// The tls-alpn-01 challenge certificate (RFC 8737 §3): exactly one subjectAltName entry, the
// dNSName being validated, and a critical acmeIdentifier extension whose value is an OCTET
// STRING holding the SHA-256 of the key authorization. Nothing else about it (issuer, validity,
// signature) matters: it is a proof of control, not a certificate anyone trusts.

import { timingSafeEqual } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export const OID_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const GENERAL_NAME_DNS = 2;

/** Null when the certificate proves control of `domain` for this key authorization; else why not. */
export function checkChallengeCertificate(der: Uint8Array, domain: string, expectedDigest: Uint8Array): string | null {
  const certificate = parseWhole(der, (schema) => new pkijs.Certificate({ schema }));
  if (certificate === null) return 'the certificate could not be parsed';
  const extensions = certificate.extensions ?? [];
  const ids = extensions.map((e) => e.extnID);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) return `the certificate has the extension ${duplicate} more than once`;

  const san = extensions.find((e) => e.extnID === OID_SUBJECT_ALT_NAME);
  if (san === undefined) return 'the certificate has no subjectAltName extension';
  const altNames = parseWhole(new Uint8Array(san.extnValue.getValue()), (schema) => new pkijs.AltName({ schema }));
  if (altNames === null) return 'the subjectAltName extension could not be parsed';
  if (altNames.altNames.length !== 1) return `the subjectAltName extension has ${altNames.altNames.length} entries; exactly one is required`;
  const only = altNames.altNames[0]!;
  if (only.type !== GENERAL_NAME_DNS || typeof only.value !== 'string') return 'the only subjectAltName entry is not a dNSName';
  if (only.value.toLowerCase() !== domain.toLowerCase()) return `the subjectAltName is ${JSON.stringify(only.value)}, not ${JSON.stringify(domain)}`;

  const acme = extensions.find((e) => e.extnID === OID_ACME_IDENTIFIER);
  if (acme === undefined) return 'the certificate has no acmeIdentifier extension';
  if (!acme.critical) return 'the acmeIdentifier extension is not marked critical';
  const value = parseWhole(new Uint8Array(acme.extnValue.getValue()), (schema) => schema);
  if (value === null || !(value instanceof asn1js.OctetString) || value.idBlock.isConstructed) {
    return 'the acmeIdentifier extension value is not a DER OCTET STRING';
  }
  const digest = new Uint8Array(value.getValue());
  if (digest.length !== expectedDigest.length || !timingSafeEqual(digest, expectedDigest)) {
    return `the acmeIdentifier extension holds ${Buffer.from(digest).toString('hex')}, not the SHA-256 of the key authorization (${Buffer.from(expectedDigest).toString('hex')})`;
  }
  return null;
}

/** One ASN.1 value filling all of `bytes`, built into T; null if either step fails. */
function parseWhole<T>(bytes: Uint8Array, build: (schema: asn1js.AsnType) => T): T | null {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || parsed.offset !== bytes.byteLength) return null;
  try {
    return build(parsed.result);
  } catch {
    return null;
  }
}
