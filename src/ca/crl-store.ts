// The CRLs in the database: signing a new one for an issuer (one replica at a time, under an
// advisory lock, in the transaction that bumps its number) and reading the current ones.

import { createHash } from 'node:crypto';
import type { SqlClient } from '../ledger/sql.js';
import { isCrlReason, signCrl, type CrlEntry } from '../pki/crl.js';
import type { Signer } from '../pki/signer.js';

/** A signed CRL as every replica serves it. */
export interface PublishedCrl {
  readonly issuerKeyId: string;
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly der: Buffer;
  /** Hex SHA-256 of the DER: what the HTTP entity tag is made of. */
  readonly sha256: string;
}

export interface CrlTiming {
  /** From thisUpdate to nextUpdate. */
  readonly validitySeconds: number;
  /** An unchanged CRL is signed afresh this long before its nextUpdate. */
  readonly renewBeforeSeconds: number;
}

/** What the database says about one issuer's CRL, cheaply (no DER). */
export interface CrlState {
  readonly issuerKeyId: string;
  readonly number: bigint;
  readonly nextUpdate: Date;
  /** Revocation rows of the issuer when the CRL was built, and now. */
  readonly revocationsSeen: number;
  readonly revocationsNow: number;
}

export type SignOutcome =
  | { readonly kind: 'signed'; readonly number: bigint; readonly entries: number }
  /** The stored CRL lists every revocation and is not due for renewal. */
  | { readonly kind: 'current' }
  /** Another process holds the issuer's lock: it is signing right now. */
  | { readonly kind: 'busy' };

/** Namespace of the two-key advisory locks, one per issuer: "crl1" in ASCII. */
const LOCK_NAMESPACE = 0x63726c31;

const toBigint = (v: unknown): bigint => BigInt(String(v));
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

/** Whether a stored CRL must be replaced: missing, behind the revocations, or close to its nextUpdate. */
export function isDue(state: CrlState | undefined, timing: CrlTiming, now: number): boolean {
  if (!state) return true;
  return state.revocationsSeen !== state.revocationsNow || state.nextUpdate.getTime() - timing.renewBeforeSeconds * 1000 <= now;
}

export async function crlStates(db: Pick<SqlClient, 'query'>): Promise<CrlState[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT c.issuer_key_id, c.crl_number, c.next_update, c.revocations_seen,
            (SELECT count(*) FROM revocations r WHERE r.issuer_key_id = c.issuer_key_id) AS revocations_now
     FROM crls c`,
  );
  return rows.map((r) => ({
    issuerKeyId: String(r.issuer_key_id),
    number: toBigint(r.crl_number),
    nextUpdate: toDate(r.next_update),
    revocationsSeen: Number(r.revocations_seen),
    revocationsNow: Number(r.revocations_now),
  }));
}

export async function readCrl(db: Pick<SqlClient, 'query'>, issuerKeyId: string): Promise<PublishedCrl | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT issuer_key_id, crl_number, this_update, next_update, der FROM crls WHERE issuer_key_id = $1',
    [issuerKeyId],
  );
  const r = rows[0];
  if (!r) return null;
  const der = Buffer.from(r.der as Uint8Array);
  return {
    issuerKeyId: String(r.issuer_key_id),
    number: toBigint(r.crl_number),
    thisUpdate: toDate(r.this_update),
    nextUpdate: toDate(r.next_update),
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/**
 * Signs and stores the signer's next CRL when the stored one is due (or `force`). The advisory
 * lock is held for the transaction, so two replicas never both read number N and write N+1: the
 * one that does not get it answers `busy` and looks again later.
 */
export async function signIfDue(db: SqlClient, signer: Signer, timing: CrlTiming, now: number, force = false): Promise<SignOutcome> {
  const issuerKeyId = signer.keyId.toString('hex');
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1::int, hashtext($2)) AS locked', [
      LOCK_NAMESPACE,
      issuerKeyId,
    ]);
    if (!lock.rows[0]?.locked) return { kind: 'busy' };
    const stored = await tx.query<Record<string, unknown>>('SELECT crl_number, next_update, revocations_seen FROM crls WHERE issuer_key_id = $1', [
      issuerKeyId,
    ]);
    // Counted before the entries are read: a revocation committed in between is listed but not
    // counted, which costs one needless re-sign at the next look, never a missed entry.
    const counted = await tx.query<{ n: unknown }>('SELECT count(*) AS n FROM revocations WHERE issuer_key_id = $1', [issuerKeyId]);
    const revocationsNow = Number(counted.rows[0]!.n);
    const row = stored.rows[0];
    const state: CrlState | undefined = row && {
      issuerKeyId,
      number: toBigint(row.crl_number),
      nextUpdate: toDate(row.next_update),
      revocationsSeen: Number(row.revocations_seen),
      revocationsNow,
    };
    if (!force && !isDue(state, timing, now)) return { kind: 'current' };

    const entries = await listedEntries(tx, issuerKeyId, new Date(now - timing.validitySeconds * 1000));
    const number = (state?.number ?? 0n) + 1n;
    // Whole seconds: the encoded times have no fraction, and the row should say what the CRL says.
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + timing.validitySeconds * 1000);
    const der = await signCrl(signer, { number, thisUpdate, nextUpdate, entries });
    await tx.query(
      `INSERT INTO crls (issuer_key_id, crl_number, this_update, next_update, revocations_seen, der)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (issuer_key_id) DO UPDATE SET crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update,
         next_update = EXCLUDED.next_update, revocations_seen = EXCLUDED.revocations_seen, der = EXCLUDED.der`,
      [issuerKeyId, number.toString(), thisUpdate, nextUpdate, revocationsNow, der],
    );
    return { kind: 'signed', number, entries: entries.length };
  });
}

/**
 * The issuer's revocations whose certificate expired after `expiredSince` (or is not in the
 * ledger yet: the audit queue may be behind, and an unknown expiry is kept). Listing a
 * certificate for one validity period past its expiry guarantees that it appears on at least one
 * CRL issued after it expired, which RFC 5280 §3.3 requires before an entry is dropped.
 */
async function listedEntries(db: Pick<SqlClient, 'query'>, issuerKeyId: string, expiredSince: Date): Promise<CrlEntry[]> {
  const { rows } = await db.query<{ serial: string; reason: unknown; revoked_at: unknown }>(
    `SELECT r.serial, r.reason, r.revoked_at
     FROM revocations r
     LEFT JOIN certificates c ON c.issuer_key_id = r.issuer_key_id AND c.serial = r.serial
     WHERE r.issuer_key_id = $1 AND (c.not_after IS NULL OR c.not_after > $2)`,
    [issuerKeyId, expiredSince],
  );
  return rows.map((r) => {
    const reason = Number(r.reason);
    return {
      serial: Buffer.from(r.serial.length % 2 ? `0${r.serial}` : r.serial, 'hex'),
      revokedAt: toDate(r.revoked_at),
      // The table's CHECK admits only RFC 5280 reasons; anything else would be listed as unspecified.
      reason: isCrlReason(reason) ? reason : 0,
    };
  });
}
