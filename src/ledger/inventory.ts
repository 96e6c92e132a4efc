// Inventory queries over the ledger: which workloads hold which certificates, and what was refused.
// Results are plain JSON (ISO timestamps, hex, base64) so they cross IPC and HTTP unchanged.

import type { SqlClient } from './sql.js';

export const ENROLLMENT_PATH_VALUES = ['api', 'acme', 'est'] as const;

/**
 * Each certificate is in exactly one: revoked (whether or not it has expired since), else expired,
 * else live.
 */
export const CERTIFICATE_STATUSES = ['live', 'expired', 'revoked'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

export interface CertificateFilter {
  readonly spiffeId?: string;
  readonly spiffeIdPrefix?: string;
  readonly path?: (typeof ENROLLMENT_PATH_VALUES)[number];
  readonly issuedAfter?: string;
  readonly issuedBefore?: string;
  readonly expiresAfter?: string;
  readonly expiresBefore?: string;
  readonly status?: CertificateStatus;
  /** Who obtained it, as the ledger names them (both columns shown in every summary). */
  readonly requesterKind?: string;
  readonly requesterId?: string;
  /** ACME certificates of the accounts of one binding, or bound with one EAB key (older rows too). */
  readonly acmeBinding?: string;
  readonly eabKeyId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface CertificateSummary {
  serial: string;
  issuer_key_id: string;
  spiffe_id: string;
  dns_names: string[];
  ip_addresses: string[];
  not_before: string;
  not_after: string;
  path: string;
  requester_kind: string;
  requester_id: string;
  rule: string;
  policy_hash: string;
  issued_at: string;
  recorded_at: string;
  status: CertificateStatus;
  /** Set once the certificate is revoked; `event_id` names its revocation event (null only if a replica on older code wrote it). */
  revocation: { reason: number; revoked_at: string; event_id: string | null } | null;
}

export interface CertificateDetail extends CertificateSummary {
  requester: unknown;
  csr_sha256: string;
  event_id: string;
  /** Base64 DER. */
  certificate: string;
  revocation: { reason: number; revoked_at: string; event_id: string | null; revoked_by: unknown } | null;
}

/** One revocation decision: who, when, why, by which selector, and how many certificates. */
export interface RevocationEventRecord {
  event_id: string;
  at: string;
  reason: number;
  revoked_by: unknown;
  selector: unknown;
  certificate_count: number;
}

export interface RevocationEventDetail extends RevocationEventRecord {
  certificates: { issuer_key_id: string; serial: string; spiffe_id: string | null; not_after: string | null }[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type GroupBy = 'trust_domain' | 'path' | 'spiffe_id_prefix';

export interface DenialRecord {
  event_id: string;
  path: string;
  requester_kind: string;
  requester_id: string;
  rule: string;
  code: string;
  reason: string;
  policy_hash: string;
  csr_sha256: string | null;
  requested_spiffe_id: string | null;
  denied_at: string;
  /** The client's address, where the protocol knew it. */
  client_address: string | null;
  /** How many identical refusals from one source this row stands for. */
  repeat_count: number;
}

/** What the inventory API asks; the SQL reader answers it, or a primary over IPC on its behalf. */
export interface LedgerReader {
  listCertificates(filter: CertificateFilter): Promise<Page<CertificateSummary>>;
  getCertificate(serial: string): Promise<CertificateDetail[]>;
  liveCounts(groupBy: GroupBy, depth: number): Promise<{ key: string; count: number }[]>;
  recentDenials(limit: number, cursor?: string): Promise<Page<DenialRecord>>;
  /** Revocation events, newest first. */
  revocationEvents(limit: number, cursor?: string): Promise<Page<RevocationEventRecord>>;
  /** One event with the certificates it revoked; null when there is none with that id. */
  revocationEvent(eventId: string): Promise<RevocationEventDetail | null>;
}

export class InvalidCursor extends Error {
  override readonly name = 'InvalidCursor';
}

const SUMMARY_COLUMNS = `c.serial, c.issuer_key_id, c.spiffe_id, c.dns_names, c.ip_addresses, c.not_before, c.not_after, c.path,
  c.requester_kind, c.requester_id, c.rule, c.policy_hash, c.issued_at, c.recorded_at,
  r.reason AS r_reason, r.revoked_at AS r_revoked_at, r.event_id AS r_event_id`;

/** Each certificate with its revocation, if any (one row at most: the primary key). */
const WITH_REVOCATION = `certificates c LEFT JOIN revocations r ON r.issuer_key_id = c.issuer_key_id AND r.serial = c.serial`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Keyset pagination: the cursor is the (time, tiebreaker) of the last row returned. */
function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function decodeCursor(cursor: string, id: RegExp): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      ISO_TIME.test(v[0]) &&
      !Number.isNaN(Date.parse(v[0])) &&
      id.test(v[1])
    ) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursor('cursor is not one this server returned');
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function plain<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof Date) out[k] = v.toISOString();
    else if (v instanceof Uint8Array) out[k] = Buffer.from(v).toString('base64');
    else out[k] = v;
  }
  return out as T;
}

/** A certificate row with its revocation columns folded into `status` and `revocation`. */
function certificateRow<T extends CertificateSummary>(row: Record<string, unknown>, now: number): T {
  const { r_reason, r_revoked_at, r_event_id, r_revoked_by, ...rest } = row;
  const out = plain<T>(rest);
  const revoked = r_reason !== null && r_reason !== undefined;
  out.revocation = revoked
    ? {
        reason: Number(r_reason),
        revoked_at: iso(r_revoked_at),
        event_id: (r_event_id as string | null) ?? null,
        ...(r_revoked_by !== undefined && { revoked_by: r_revoked_by }),
      }
    : null;
  out.status = revoked ? 'revoked' : Date.parse(out.not_after) <= now ? 'expired' : 'live';
  return out;
}

/** Escapes LIKE metacharacters so a prefix is matched literally. */
const likePrefix = (p: string): string => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class SqlLedgerReader implements LedgerReader {
  constructor(private readonly db: SqlClient) {}

  async listCertificates(f: CertificateFilter): Promise<Page<CertificateSummary>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.spiffeId !== undefined) add('c.spiffe_id = ?', f.spiffeId);
    if (f.spiffeIdPrefix !== undefined) add('c.spiffe_id LIKE ?', likePrefix(f.spiffeIdPrefix));
    if (f.path !== undefined) add('c.path = ?', f.path);
    if (f.issuedAfter !== undefined) add('c.issued_at >= ?', f.issuedAfter);
    if (f.issuedBefore !== undefined) add('c.issued_at < ?', f.issuedBefore);
    if (f.expiresAfter !== undefined) add('c.not_after >= ?', f.expiresAfter);
    if (f.expiresBefore !== undefined) add('c.not_after < ?', f.expiresBefore);
    if (f.requesterKind !== undefined) add('c.requester_kind = ?', f.requesterKind);
    if (f.requesterId !== undefined) add('c.requester_id = ?', f.requesterId);
    // Through the account tables, which hold the binding and EAB key of every account: ledger rows
    // written before the requester carried the key id are found the same way.
    if (f.acmeBinding !== undefined) {
      add(`c.path = 'acme' AND c.requester->>'accountId' IN (SELECT id FROM acme_accounts WHERE binding = ?)`, f.acmeBinding);
    }
    if (f.eabKeyId !== undefined) {
      add(`c.path = 'acme' AND c.requester->>'accountId' IN (SELECT id FROM acme_accounts WHERE eab_key_id = ?)`, f.eabKeyId);
    }
    if (f.status === 'live') where.push('c.not_after > now() AND r.serial IS NULL');
    if (f.status === 'expired') where.push('c.not_after <= now() AND r.serial IS NULL');
    if (f.status === 'revoked') where.push('r.serial IS NOT NULL');
    if (f.cursor !== undefined) {
      const [at, serial] = decodeCursor(f.cursor, /^[0-9a-f]{1,40}$/);
      params.push(at, serial);
      where.push(`(c.issued_at, c.serial) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(f.limit + 1);
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SUMMARY_COLUMNS}, now() AS db_now FROM ${WITH_REVOCATION} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY c.issued_at DESC, c.serial DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, f.limit).map(({ db_now, ...r }) => certificateRow<CertificateSummary>(r, Date.parse(iso(db_now))));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > f.limit && last ? encodeCursor(iso(last.issued_at), last.serial) : null };
  }

  async getCertificate(serial: string): Promise<CertificateDetail[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SUMMARY_COLUMNS}, r.revoked_by AS r_revoked_by, c.requester, c.csr_sha256, c.event_id, c.certificate, now() AS db_now
       FROM ${WITH_REVOCATION} WHERE c.serial = $1`,
      [serial],
    );
    return rows.map(({ db_now, ...r }) => certificateRow<CertificateDetail>(r, Date.parse(iso(db_now))));
  }

  async liveCounts(groupBy: GroupBy, depth: number): Promise<{ key: string; count: number }[]> {
    // `depth` is a validated small integer, so inlining it into the pattern is safe.
    const key =
      groupBy === 'trust_domain'
        ? 'trust_domain'
        : groupBy === 'path'
          ? 'path'
          : `substring(spiffe_id from '^(spiffe://[^/]+(/[^/]+){0,${Math.trunc(depth)}})')`;
    const { rows } = await this.db.query<{ key: string; count: string | number }>(
      `SELECT ${key} AS key, count(*) AS count FROM certificates c
       WHERE not_after > now() AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.issuer_key_id = c.issuer_key_id AND r.serial = c.serial)
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1000`,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }));
  }

  async recentDenials(limit: number, cursor?: string): Promise<Page<DenialRecord>> {
    const params: unknown[] = [];
    let where = '';
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, UUID);
      params.push(at, id);
      where = 'WHERE (denied_at, event_id) < ($1, $2::uuid)';
    }
    params.push(limit + 1);
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT event_id, path, requester_kind, requester_id, rule, code, reason, policy_hash, csr_sha256,
              requested_spiffe_id, denied_at, client_address, repeat_count
       FROM denials ${where} ORDER BY denied_at DESC, event_id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map((r) => plain<DenialRecord>(r));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit && last ? encodeCursor(iso(last.denied_at), last.event_id) : null };
  }

  async revocationEvents(limit: number, cursor?: string): Promise<Page<RevocationEventRecord>> {
    const params: unknown[] = [];
    let where = '';
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, UUID);
      params.push(at, id);
      where = 'WHERE (at, event_id) < ($1, $2::uuid)';
    }
    params.push(limit + 1);
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT event_id, at, reason, revoked_by, selector, certificate_count
       FROM revocation_events ${where} ORDER BY at DESC, event_id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map((r) => plain<RevocationEventRecord>(r));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit && last ? encodeCursor(iso(last.at), last.event_id) : null };
  }

  async revocationEvent(eventId: string): Promise<RevocationEventDetail | null> {
    if (!UUID.test(eventId)) return null;
    const { rows } = await this.db.query<Record<string, unknown>>(
      'SELECT event_id, at, reason, revoked_by, selector, certificate_count FROM revocation_events WHERE event_id = $1',
      [eventId],
    );
    if (!rows[0]) return null;
    // The certificate may not be in the ledger yet (the audit queue is behind): its name is then null.
    const certificates = await this.db.query<Record<string, unknown>>(
      `SELECT r.issuer_key_id, r.serial, c.spiffe_id, c.not_after
       FROM revocations r LEFT JOIN certificates c ON c.issuer_key_id = r.issuer_key_id AND c.serial = r.serial
       WHERE r.event_id = $1 ORDER BY r.serial`,
      [eventId],
    );
    return {
      ...plain<RevocationEventRecord>(rows[0]),
      certificates: certificates.rows.map((r) => plain<RevocationEventDetail['certificates'][number]>(r)),
    };
  }
}
