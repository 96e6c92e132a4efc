// Certificate revocation lists (RFC 5280 §5): a v2 CRL for one issuing CA, signed through the
// same Signer as its certificates.

import { assembleCertificate, subjectOfCertificate, type IssuerIdentity } from './certificate.js';
import { TAG, explicit, octets, oid, seq, smallInteger, tlv, time, unsignedInteger } from './der.js';
import { OID } from './oids.js';
import type { Signer } from './signer.js';

/** RFC 5280 §5.3.1 CRLReason values; 7 is unassigned. */
export type CrlReason = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 8 | 9 | 10;

export const CRL_REASONS: readonly CrlReason[] = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10];

export function isCrlReason(n: number): n is CrlReason {
  return (CRL_REASONS as readonly number[]).includes(n);
}

export interface CrlEntry {
  /** The certificate's serial: the INTEGER's content octets. */
  readonly serial: Uint8Array;
  readonly revokedAt: Date;
  readonly reason: CrlReason;
}

export interface CrlFields {
  readonly issuer: IssuerIdentity;
  /** cRLNumber: strictly greater than every earlier CRL of this issuer (RFC 5280 §5.2.3). */
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntry[];
}

const SIGNATURE_ALGORITHM = seq(oid(OID.ecdsaWithSha256));
/** Version is a bare INTEGER in a TBSCertList (not [0]-tagged as in a certificate): v2 is 1. */
const VERSION_2 = smallInteger(1);
/** cRLNumber is at most 20 octets (RFC 5280 §5.2.3). */
const MAX_CRL_NUMBER = (1n << 159n) - 1n;

/** A non-negative bigint as big-endian bytes (at least one). */
function bigintBytes(n: bigint): Buffer {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function extension(id: string, value: Uint8Array): Buffer {
  return seq(oid(id), octets(value));
}

function entry(e: CrlEntry): Buffer {
  // unspecified (0) is left out, as RFC 5280 §5.3.1 recommends. removeFromCRL (8) belongs to
  // delta CRLs only; in a full CRL it would read as "no longer revoked", so it is listed as
  // unspecified: still revoked, which is what the database says.
  if (e.reason === 0 || e.reason === 8) return seq(unsignedInteger(e.serial), time(e.revokedAt));
  const reasonCode = extension(OID.cRLReason, tlv(TAG.ENUMERATED, Buffer.from([e.reason])));
  return seq(unsignedInteger(e.serial), time(e.revokedAt), seq(reasonCode));
}

/** TBSCertList (RFC 5280 §5.1.2). Entries are listed in serial order, so equal input gives equal bytes. */
export function crlTbs(fields: CrlFields): Buffer {
  if (fields.number < 0n || fields.number > MAX_CRL_NUMBER) throw new RangeError('cRLNumber must fit in 20 octets');
  if (fields.nextUpdate.getTime() <= fields.thisUpdate.getTime()) throw new RangeError('nextUpdate must be after thisUpdate');
  const entries = [...fields.entries].sort((a, b) => Buffer.compare(Buffer.from(a.serial), Buffer.from(b.serial)));
  const extensions = seq(
    extension(OID.authorityKeyIdentifier, seq(tlv(0x80, fields.issuer.keyId))),
    extension(OID.cRLNumber, unsignedInteger(bigintBytes(fields.number))),
  );
  return seq(
    VERSION_2,
    SIGNATURE_ALGORITHM,
    fields.issuer.subject,
    time(fields.thisUpdate),
    time(fields.nextUpdate),
    // An empty revokedCertificates is omitted, not encoded as an empty SEQUENCE (RFC 5280 §5.1.2.6).
    ...(entries.length > 0 ? [seq(...entries.map(entry))] : []),
    explicit(0, extensions),
  );
}

/** CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }: the same shape as a certificate. */
export const assembleCrl = assembleCertificate;

/** Encodes and signs a CRL as the signer's CA; an HSM's signature is awaited. */
export async function signCrl(signer: Signer, fields: Omit<CrlFields, 'issuer'>): Promise<Buffer> {
  const tbs = crlTbs({ ...fields, issuer: { subject: subjectOfCertificate(signer.certificateDer), keyId: signer.keyId } });
  return assembleCrl(tbs, await signer.sign(tbs));
}
