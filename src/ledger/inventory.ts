// Inventory queries over the ledger: which workloads hold which certificates, and what was refused.
// Results are plain JSON (ISO timestamps, hex, base64) so they cross IPC and HTTP unchanged.

import type { SqlClient } from './sql.js';

export const ENROLLMENT_PATH_VALUES = ['api', 'acme', 'est'] as const;

export interface CertificateFilter {
  readonly spiffeId?: string;
  readonly spiffeIdPrefix?: string;
  readonly path?: (typeof ENROLLMENT_PATH_VALUES)[number];
  readonly issuedAfter?: string;
  readonly issuedBefore?: string;
  readonly expiresAfter?: string;
  readonly expiresBefore?: string;
  readonly status?: 'live' | 'expired';
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
}

export interface CertificateDetail extends CertificateSummary {
  requester: unknown;
  csr_sha256: string;
  event_id: string;
  /** Base64 DER. */
  certificate: string;
  /** Set once the certificate is revoked (through ACME today). */
  revocation: { reason: number; revoked_at: string; revoked_by: unknown } | null;
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
}

export class InvalidCursor extends Error {
  override readonly name = 'InvalidCursor';
}

const SUMMARY_COLUMNS = `serial, issuer_key_id, spiffe_id, dns_names, ip_addresses, not_before, not_after, path,
  requester_kind, requester_id, rule, policy_hash, issued_at, recorded_at`;

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
    if (f.spiffeId !== undefined) add('spiffe_id = ?', f.spiffeId);
    if (f.spiffeIdPrefix !== undefined) add('spiffe_id LIKE ?', likePrefix(f.spiffeIdPrefix));
    if (f.path !== undefined) add('path = ?', f.path);
    if (f.issuedAfter !== undefined) add('issued_at >= ?', f.issuedAfter);
    if (f.issuedBefore !== undefined) add('issued_at < ?', f.issuedBefore);
    if (f.expiresAfter !== undefined) add('not_after >= ?', f.expiresAfter);
    if (f.expiresBefore !== undefined) add('not_after < ?', f.expiresBefore);
    if (f.status === 'live') where.push('not_after > now()');
    if (f.status === 'expired') where.push('not_after <= now()');
    if (f.cursor !== undefined) {
      const [at, serial] = decodeCursor(f.cursor, /^[0-9a-f]{1,40}$/);
      params.push(at, serial);
      where.push(`(issued_at, serial) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(f.limit + 1);
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SUMMARY_COLUMNS} FROM certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY issued_at DESC, serial DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, f.limit).map((r) => plain<CertificateSummary>(r));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > f.limit && last ? encodeCursor(iso(last.issued_at), last.serial) : null };
  }

  async getCertificate(serial: string): Promise<CertificateDetail[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${SUMMARY_COLUMNS.replace(/(\w+)/g, 'c.$1')}, c.requester, c.csr_sha256, c.event_id, c.certificate,
         CASE WHEN r.serial IS NULL THEN NULL
              ELSE json_build_object('reason', r.reason, 'revoked_at', r.revoked_at, 'revoked_by', r.revoked_by) END AS revocation
       FROM certificates c
       LEFT JOIN revocations r ON r.issuer_key_id = c.issuer_key_id AND r.serial = c.serial
       WHERE c.serial = $1`,
      [serial],
    );
    return rows.map((r) => plain<CertificateDetail>(r));
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
      `SELECT ${key} AS key, count(*) AS count FROM certificates WHERE not_after > now() GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1000`,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }));
  }

  async recentDenials(limit: number, cursor?: string): Promise<Page<DenialRecord>> {
    const params: unknown[] = [];
    let where = '';
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
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
}
