// Certificate bodies for the two profiles this CA writes: X509-SVID leaves and CA certificates.
//
// A leaf body is mostly bytes that never change for a given issuing CA (version, signature
// algorithm, issuer name, AKI, basic constraints, key usage, EKU). LeafProfile encodes those once
// and splices in the per-certificate parts, which keeps encoding off the issuance profile.

import { createHash, randomFillSync } from 'node:crypto';
import {
  bitString,
  bool,
  explicit,
  octets,
  oid,
  seq,
  set,
  smallInteger,
  tlv,
  time,
  unsignedInteger,
  TAG,
  bytesOf,
  childrenOf,
  readWhole,
} from './der.js';
import { OID } from './oids.js';
import { parseIp } from '../ip/codec.js';

export const SERIAL_BYTES = 16;

const SIGNATURE_ALGORITHM = seq(oid(OID.ecdsaWithSha256));
const VERSION_3 = explicit(0, smallInteger(2));

/** The key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKeyBits: Uint8Array): Buffer {
  return createHash('sha1').update(publicKeyBits).digest();
}

/** 16 CSPRNG bytes with the top bit clear (positive) and a non-zero first byte (exactly 16 octets). */
export function newSerial(): Buffer {
  if (poolOffset + SERIAL_BYTES > serialPool.length) {
    randomFillSync(serialPool);
    poolOffset = 0;
  }
  // A copy, so the pool can be refilled without touching serials already handed out.
  const serial = Buffer.from(serialPool.subarray(poolOffset, (poolOffset += SERIAL_BYTES)));
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial;
}

/** One CSPRNG call per 256 serials instead of one per serial. */
const serialPool = Buffer.alloc(SERIAL_BYTES * 256);
let poolOffset = serialPool.length;

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** The iPAddress bytes of a SAN, from the one codec policy matching uses too. */
export function ipBytes(ip: string): Buffer {
  const parsed = parseIp(ip);
  // Callers pass addresses the policy has already parsed, so a failure here is a bug upstream.
  if (!parsed.ok) throw new Error(`not an IP address: ${parsed.reason}`);
  return Buffer.from(parsed.bytes);
}

export interface SubjectAltNames {
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

function subjectAltName(names: SubjectAltNames, critical: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const uri of names.uris) parts.push(tlv(0x86, Buffer.from(uri, 'latin1')));
  for (const dns of names.dnsNames) parts.push(tlv(0x82, Buffer.from(dns, 'latin1')));
  for (const ip of names.ipAddresses) parts.push(tlv(0x87, ipBytes(ip)));
  return extension(OID.subjectAltName, critical, seq(...parts));
}

/** A Name with an optional O and a CN, each as a UTF8String. Empty names encode as `30 00`. */
export function distinguishedName(attrs: { organization?: string; commonName?: string }): Buffer {
  const rdns: Buffer[] = [];
  if (attrs.organization) rdns.push(set(seq(oid(OID.organizationName), tlv(TAG.UTF8_STRING, Buffer.from(attrs.organization)))));
  if (attrs.commonName) rdns.push(set(seq(oid(OID.commonName), tlv(TAG.UTF8_STRING, Buffer.from(attrs.commonName)))));
  return seq(...rdns);
}

export interface IssuerIdentity {
  /** The issuing CA's subject Name, DER. */
  readonly subject: Uint8Array;
  /** The issuing CA's subject key identifier, which becomes every leaf's AKI. */
  readonly keyId: Uint8Array;
}

export interface LeafFields {
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  readonly publicKeyBits: Uint8Array;
  readonly names: SubjectAltNames;
  /** Whether the certificate names the issuing CA's CRL (a policy rule opted in). */
  readonly crlDistributionPoint?: boolean;
}

/** CRLDistributionPoints with one DistributionPoint whose fullName is one URI (RFC 5280 §4.2.1.13). */
function crlDistributionPoints(url: string): Buffer {
  // distributionPoint [0] holds a CHOICE, so it is constructed; fullName is [0] IMPLICIT GeneralNames.
  return extension(OID.crlDistributionPoints, false, seq(seq(explicit(0, explicit(0, tlv(0x86, Buffer.from(url, 'latin1')))))));
}

/** The X509-SVID leaf profile bound to one issuing CA, with every constant part pre-encoded. */
export class LeafProfile {
  private readonly issuer: Buffer;
  private readonly constantExtensions: Buffer;
  private readonly cdp: Buffer | null;
  private static readonly EMPTY_SUBJECT = seq();

  /** `crlUrl`: where this CA's CRL is published, for leaves whose rule asks to name it. */
  constructor(issuer: IssuerIdentity, crlUrl: string | null = null) {
    this.issuer = Buffer.from(issuer.subject);
    this.cdp = crlUrl === null ? null : crlDistributionPoints(crlUrl);
    this.constantExtensions = Buffer.concat([
      extension(OID.basicConstraints, true, seq()),
      // digitalSignature only: bit 0, one unused bit pattern `03 02 07 80`.
      extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x07, 0x80])),
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
      extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, issuer.keyId))),
    ]);
  }

  tbs(fields: LeafFields): Buffer {
    let cdp: Buffer[] = [];
    if (fields.crlDistributionPoint) {
      // The Issuer refuses such a decision when no URL is configured, so this is a bug upstream.
      if (this.cdp === null) throw new Error('a CRL distribution point was asked for, but no CRL URL is configured');
      cdp = [this.cdp];
    }
    // The subject is empty, so RFC 5280 §4.2.1.6 requires the SAN extension to be critical.
    const extensions = seq(
      this.constantExtensions,
      subjectAltName(fields.names, true),
      extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(fields.publicKeyBits))),
      ...cdp,
    );
    return tbsCertificate(fields, this.issuer, LeafProfile.EMPTY_SUBJECT, extensions);
  }
}

/** TBSCertificate (RFC 5280 §4.1) around an already-encoded Extensions SEQUENCE. */
function tbsCertificate(
  fields: { serial: Uint8Array; notBefore: Date; notAfter: Date; spki: Uint8Array },
  issuer: Uint8Array,
  subject: Uint8Array,
  extensions: Uint8Array,
): Buffer {
  return seq(
    VERSION_3,
    unsignedInteger(fields.serial),
    SIGNATURE_ALGORITHM,
    issuer,
    seq(time(fields.notBefore), time(fields.notAfter)),
    subject,
    fields.spki,
    explicit(3, extensions),
  );
}

/**
 * The CA's own HTTPS certificate: serverAuth only, DNS and IP names only, a CN subject. It is
 * deliberately not an X509-SVID (no URI SAN, no clientAuth), so its key, which sits on every
 * replica, can never act as a workload identity.
 */
export function serverTbs(
  fields: Omit<LeafFields, 'names'> & { issuer: IssuerIdentity; commonName: string; dnsNames: readonly string[]; ipAddresses: readonly string[] },
): Buffer {
  const extensions = seq(
    extension(OID.basicConstraints, true, seq()),
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x07, 0x80])),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    subjectAltName({ uris: [], dnsNames: fields.dnsNames, ipAddresses: fields.ipAddresses }, false),
    extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(fields.publicKeyBits))),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, fields.issuer.keyId))),
  );
  return tbsCertificate(fields, fields.issuer.subject, distinguishedName({ commonName: fields.commonName }), extensions);
}

export interface CaFields {
  readonly serial: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuer: IssuerIdentity | 'self';
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  readonly publicKeyBits: Uint8Array;
  /** 0 for an issuing CA that signs only leaves; omitted for a root. */
  readonly pathLength?: number;
  /** SPIFFE trust-domain ID (no path), carried by the CA as the X509-SVID spec allows. */
  readonly spiffeId?: string;
}

/** A CA certificate body: cA=true, keyCertSign and cRLSign. */
export function caTbs(fields: CaFields): Buffer {
  const ski = keyIdentifier(fields.publicKeyBits);
  const issuer = fields.issuer === 'self' ? { subject: fields.subject, keyId: ski } : fields.issuer;
  const bc = fields.pathLength === undefined ? seq(bool(true)) : seq(bool(true), smallInteger(fields.pathLength));
  const exts = [
    extension(OID.basicConstraints, true, bc),
    // keyCertSign (bit 5) and cRLSign (bit 6): `03 02 01 06`.
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x01, 0x06])),
    extension(OID.subjectKeyIdentifier, false, octets(ski)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, issuer.keyId))),
  ];
  if (fields.spiffeId) exts.push(subjectAltName({ uris: [fields.spiffeId], dnsNames: [], ipAddresses: [] }, false));
  return tbsCertificate(fields, issuer.subject, fields.subject, seq(...exts));
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
export function assembleCertificate(tbs: Uint8Array, signature: Uint8Array): Buffer {
  return seq(tbs, SIGNATURE_ALGORITHM, bitString(signature));
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block with the given label, decoded. */
export function fromPem(pem: string, label = 'CERTIFICATE'): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** A certificate's subject Name, DER, read from its TBS (the sixth field after version). */
export function subjectOfCertificate(certDer: Uint8Array): Buffer {
  const [tbs] = childrenOf(certDer, readWhole(certDer));
  const fields = childrenOf(certDer, tbs!);
  return Buffer.from(bytesOf(certDer, fields[5]!));
}
