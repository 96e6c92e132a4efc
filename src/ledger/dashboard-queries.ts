// What the dashboard asks of the ledger: aggregates computed by the database (never rows shipped
// to the process to be counted), and lists paged by keyset so that page 1,000 costs what page 1
// does. Migration 009 holds the indexes these queries are written for. Results are plain JSON so
// they cross IPC unchanged (the embedded mode's workers ask the primary).

import type { SqlClient } from './sql.js';

/** Counts per minute, oldest first; minutes with none are absent. `t` is Unix seconds. */
export interface MinuteCount {
  readonly t: number;
  readonly n: number;
}

export interface Overview {
  readonly liveByTrustDomain: { key: string; count: number }[];
  readonly liveByPath: { key: string; count: number }[];
  /** The last 24 hours, per minute. */
  readonly issuedPerMinute: MinuteCount[];
  readonly refusedPerMinute: MinuteCount[];
  /** Seconds from issuance to ledger row over the last five minutes; null with no issuance. */
  readonly ledgerLag: { readonly p50: number; readonly max: number; readonly rows: number } | null;
}

/** One child of a node of the SPIFFE ID tree, with its live certificates. */
export interface TreeChild {
  /** The segment(s) under the parent: `ns/payments`, `sa/api`, `gateway-7`. */
  readonly name: string;
  /** The SPIFFE ID this child names (its own certificates, and the subtree under it). */
  readonly id: string;
  readonly live: number;
  /** Certificates whose SPIFFE ID is exactly `id`. */
  readonly exact: number;
  /** Whether live certificates exist deeper than `id`. */
  readonly deeper: boolean;
}

export type Search = { readonly kind: 'serial'; readonly serial: string } | { readonly kind: 'dns'; readonly name: string };

export interface CertificateQuery {
  /** A SPIFFE ID: its own certificates and those of its subtree. */
  readonly under?: string;
  readonly search?: Search;
  /** Live certificates expiring within this many seconds. */
  readonly expiringWithinSeconds?: number;
  /** `live` (the default): neither expired nor revoked, soonest expiry first. `all`: latest expiry first. */
  readonly status: 'live' | 'all';
  readonly limit: number;
  readonly cursor?: string;
}

export interface CertificateRow {
  readonly serial: string;
  readonly issuer_key_id: string;
  readonly spiffe_id: string;
  readonly dns_names: string[];
  readonly path: string;
  readonly requester_kind: string;
  readonly requester_id: string;
  readonly rule: string;
  readonly issued_at: string;
  readonly not_after: string;
  readonly revoked_at: string | null;
}

export interface Paged<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

export interface RefusalGroup {
  readonly rule: string;
  readonly code: string;
  /** Refusals, counting each folded row's repeats. */
  readonly refusals: number;
  readonly last: string;
}

export interface RefusalSeries {
  readonly bucketSeconds: number;
  /** Per bucket and group (`rule code`), oldest first. */
  readonly points: { t: number; rule: string; code: string; n: number }[];
}

export interface RefusalEvent {
  readonly event_id: string;
  readonly denied_at: string;
  readonly path: string;
  readonly requester_kind: string;
  readonly requester_id: string;
  readonly requested_spiffe_id: string | null;
  readonly reason: string;
  readonly client_address: string | null;
  readonly repeat_count: number;
  readonly policy_hash: string;
}

export interface RuleHits {
  readonly rule: string;
  readonly issued: number;
  readonly refused: number;
}

/** What the dashboard pages ask; the SQL reader answers, or the embedded primary over IPC. */
export interface DashboardReader {
  overview(): Promise<Overview>;
  /** Children of `parent` (`spiffe://td/...`, no trailing slash), or the trust domains when null. */
  tree(parent: string | null): Promise<TreeChild[]>;
  certificates(q: CertificateQuery): Promise<Paged<CertificateRow>>;
  refusalGroups(windowSeconds: number): Promise<{ groups: RefusalGroup[]; series: RefusalSeries }>;
  refusalEvents(rule: string, code: string, windowSeconds: number, limit: number, cursor?: string): Promise<Paged<RefusalEvent>>;
  ruleHits(windowSeconds: number): Promise<RuleHits[]>;
}

export class InvalidDashboardCursor extends Error {
  override readonly name = 'InvalidDashboardCursor';
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function encodeCursor(at: unknown, id: string): string {
  const t = at instanceof Date ? at.toISOString() : new Date(String(at)).toISOString();
  return Buffer.from(JSON.stringify([t, id])).toString('base64url');
}

function decodeCursor(cursor: string, id: RegExp): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && ISO_TIME.test(v[0]) && id.test(v[1])) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidDashboardCursor('cursor is not one this server returned');
}

/** Live as the inventory API counts it: not expired, not revoked. For one page of rows. */
const LIVE = `c.not_after > now() AND r.serial IS NULL`;

/**
 * Rows to count live certificates by summing `sign`: every unexpired certificate counts +1 and
 * every unexpired revoked one -1 again. Counting this way reads the live range from its index and
 * the (few) revocations by theirs, instead of probing revocations once per live certificate.
 */
function liveRows(columns: string, filter = 'true'): string {
  return `(SELECT ${columns}, 1 AS sign FROM certificates c WHERE c.not_after > now() AND ${filter}
           UNION ALL
           SELECT ${columns}, -1 AS sign FROM revocations r JOIN certificates c ON c.issuer_key_id = r.issuer_key_id AND c.serial = r.serial
           WHERE c.not_after > now() AND ${filter}) v`;
}

const SERIAL = /^[0-9a-f]{1,40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

/** Escapes LIKE metacharacters so that a prefix is matched literally. */
const likePrefix = (p: string): string => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Bucket width for a window: about a hundred points, on round minutes. */
export function bucketFor(windowSeconds: number): number {
  for (const b of [60, 300, 900, 3600, 4 * 3600, 86400]) if (windowSeconds / b <= 200) return b;
  return 86400;
}

export class SqlDashboardReader implements DashboardReader {
  constructor(private readonly db: SqlClient) {}

  async overview(): Promise<Overview> {
    const q = <T>(sql: string): Promise<T[]> => this.db.query<T>(sql).then((r) => r.rows);
    // One round trip per figure, issued together; each is an index-only scan (migration 009).
    const [live, issued, refused, lag] = await Promise.all([
      // Both groupings from one pass over the live range.
      q<{ trust_domain: string | null; path: string | null; count: string }>(
        `SELECT trust_domain, path, sum(sign) AS count FROM ${liveRows('c.trust_domain, c.path')}
         GROUP BY GROUPING SETS ((trust_domain), (path)) HAVING sum(sign) > 0 ORDER BY 3 DESC, 1, 2`,
      ),
      q<{ t: string; n: string }>(
        `SELECT (floor(extract(epoch FROM issued_at) / 60) * 60)::bigint AS t, count(*) AS n
         FROM certificates WHERE issued_at > now() - interval '24 hours' GROUP BY 1 ORDER BY 1`,
      ),
      q<{ t: string; n: string }>(
        `SELECT (floor(extract(epoch FROM denied_at) / 60) * 60)::bigint AS t, sum(repeat_count) AS n
         FROM denials WHERE denied_at > now() - interval '24 hours' GROUP BY 1 ORDER BY 1`,
      ),
      q<{ p50: number | null; max: number | null; rows: string }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - issued_at))::float8 AS p50,
                max(extract(epoch FROM recorded_at - issued_at))::float8 AS max, count(*) AS rows
         FROM certificates WHERE issued_at > now() - interval '5 minutes'`,
      ),
    ]);
    const byTd = live.filter((r) => r.trust_domain !== null).slice(0, 100);
    const byPath = live.filter((r) => r.path !== null);
    const minutes = (rows: { t: string; n: string }[]) => rows.map((r) => ({ t: Number(r.t), n: Number(r.n) }));
    const l = lag[0];
    return {
      liveByTrustDomain: byTd.map((r) => ({ key: r.trust_domain!, count: Number(r.count) })),
      liveByPath: byPath.map((r) => ({ key: r.path!, count: Number(r.count) })),
      issuedPerMinute: minutes(issued),
      refusedPerMinute: minutes(refused),
      ledgerLag: l && Number(l.rows) > 0 ? { p50: Number(l.p50), max: Number(l.max), rows: Number(l.rows) } : null,
    };
  }

  async tree(parent: string | null): Promise<TreeChild[]> {
    if (parent === null) {
      const { rows } = await this.db.query<{ key: string; count: string }>(
        `SELECT trust_domain AS key, sum(sign) AS count FROM ${liveRows('c.trust_domain')} GROUP BY 1 HAVING sum(sign) > 0 ORDER BY 2 DESC, 1 LIMIT 500`,
      );
      return rows.map((r) => ({ name: r.key, id: `spiffe://${r.key}`, live: Number(r.count), exact: 0, deeper: true }));
    }
    const prefix = `${parent}/`;
    // A child is the next segment, or the next two where the path reads as key/value pairs
    // (ns/payments, sa/api, gateway/g7): one level per thing an operator names.
    // split_part, not a regular expression: this runs once per live certificate under the node.
    const { rows } = await this.db.query<{ first: string; second: string; live: string; exact: string; deeper: boolean }>(
      `SELECT split_part(rest, '/', 1) AS first, split_part(rest, '/', 2) AS second, sum(sign) AS live,
              coalesce(sum(sign) FILTER (WHERE split_part(rest, '/', 3) = ''), 0) AS exact,
              coalesce(sum(sign) FILTER (WHERE split_part(rest, '/', 3) <> ''), 0) > 0 AS deeper
       FROM ${liveRows('substr(c.spiffe_id, $1::int) AS rest', 'c.spiffe_id LIKE $2')}
       GROUP BY 1, 2 HAVING sum(sign) > 0 ORDER BY live DESC, 1, 2 LIMIT 500`,
      [prefix.length + 1, likePrefix(prefix)],
    );
    return rows.map((r) => {
      const name = r.second === '' ? r.first : `${r.first}/${r.second}`;
      return { name, id: prefix + name, live: Number(r.live), exact: Number(r.exact), deeper: r.deeper };
    });
  }

  async certificates(f: CertificateQuery): Promise<Paged<CertificateRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => (params.push(v), `$${params.length}`);
    if (f.under !== undefined) where.push(`(c.spiffe_id = ${p(f.under)} OR c.spiffe_id LIKE ${p(likePrefix(`${f.under}/`))})`);
    if (f.search?.kind === 'serial') where.push(`c.serial = ${p(f.search.serial)}`);
    if (f.search?.kind === 'dns') where.push(`c.dns_names @> ARRAY[${p(f.search.name)}]::text[]`);
    if (f.status === 'live' || f.expiringWithinSeconds !== undefined) where.push(LIVE);
    if (f.expiringWithinSeconds !== undefined) where.push(`c.not_after <= now() + ${p(f.expiringWithinSeconds)}::int * interval '1 second'`);
    // Live: soonest expiry first (what needs attention); all: latest expiry first (the newest).
    const dir = f.status === 'live' || f.expiringWithinSeconds !== undefined ? 'ASC' : 'DESC';
    if (f.cursor !== undefined) {
      const [at, serial] = decodeCursor(f.cursor, SERIAL);
      where.push(`(c.not_after, c.serial) ${dir === 'ASC' ? '>' : '<'} (${p(at)}::timestamptz, ${p(serial)})`);
    }
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT c.serial, c.issuer_key_id, c.spiffe_id, c.dns_names, c.path, c.requester_kind, c.requester_id, c.rule,
              c.issued_at, c.not_after, r.revoked_at
       FROM certificates c LEFT JOIN revocations r ON r.issuer_key_id = c.issuer_key_id AND r.serial = c.serial
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY c.not_after ${dir}, c.serial ${dir} LIMIT ${p(f.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, f.limit).map((r): CertificateRow => ({
      serial: String(r.serial),
      issuer_key_id: String(r.issuer_key_id),
      spiffe_id: String(r.spiffe_id),
      dns_names: r.dns_names as string[],
      path: String(r.path),
      requester_kind: String(r.requester_kind),
      requester_id: String(r.requester_id),
      rule: String(r.rule),
      issued_at: iso(r.issued_at),
      not_after: iso(r.not_after),
      revoked_at: isoOrNull(r.revoked_at),
    }));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > f.limit && last ? encodeCursor(last.not_after, last.serial) : null };
  }

  async refusalGroups(windowSeconds: number): Promise<{ groups: RefusalGroup[]; series: RefusalSeries }> {
    const bucket = bucketFor(windowSeconds);
    // One pass: the groups are sums of the series.
    const { rows } = await this.db.query<{ t: string; rule: string; code: string; n: string; last: unknown }>(
      `SELECT (floor(extract(epoch FROM denied_at) / $2) * $2)::bigint AS t, rule, code, sum(repeat_count) AS n, max(denied_at) AS last
       FROM denials WHERE denied_at > now() - $1::int * interval '1 second'
       GROUP BY 1, 2, 3 ORDER BY 1`,
      [windowSeconds, bucket],
    );
    const groups = new Map<string, { rule: string; code: string; refusals: number; last: string }>();
    for (const r of rows) {
      const key = `${r.rule}\0${r.code}`;
      const g = groups.get(key) ?? groups.set(key, { rule: r.rule, code: r.code, refusals: 0, last: '' }).get(key)!;
      g.refusals += Number(r.n);
      const last = iso(r.last);
      if (last > g.last) g.last = last;
    }
    return {
      groups: [...groups.values()]
        .sort((a, b) => b.refusals - a.refusals || a.rule.localeCompare(b.rule) || a.code.localeCompare(b.code))
        .slice(0, 200),
      series: { bucketSeconds: bucket, points: rows.map((r) => ({ t: Number(r.t), rule: r.rule, code: r.code, n: Number(r.n) })) },
    };
  }

  async refusalEvents(rule: string, code: string, windowSeconds: number, limit: number, cursor?: string): Promise<Paged<RefusalEvent>> {
    const params: unknown[] = [rule, code, windowSeconds];
    let keyset = '';
    if (cursor !== undefined) {
      const [at, id] = decodeCursor(cursor, UUID);
      params.push(at, id);
      keyset = 'AND (denied_at, event_id) < ($4::timestamptz, $5::uuid)';
    }
    params.push(limit + 1);
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT event_id, denied_at, path, requester_kind, requester_id, requested_spiffe_id, reason, client_address, repeat_count, policy_hash
       FROM denials
       WHERE rule = $1 AND code = $2 AND denied_at > now() - $3::int * interval '1 second' ${keyset}
       ORDER BY denied_at DESC, event_id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map((r): RefusalEvent => ({
      event_id: String(r.event_id),
      denied_at: iso(r.denied_at),
      path: String(r.path),
      requester_kind: String(r.requester_kind),
      requester_id: String(r.requester_id),
      requested_spiffe_id: (r.requested_spiffe_id as string | null) ?? null,
      reason: String(r.reason),
      client_address: (r.client_address as string | null) ?? null,
      repeat_count: Number(r.repeat_count),
      policy_hash: String(r.policy_hash),
    }));
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit && last ? encodeCursor(last.denied_at, last.event_id) : null };
  }

  async ruleHits(windowSeconds: number): Promise<RuleHits[]> {
    const [issued, refused] = await Promise.all([
      this.db.query<{ rule: string; n: string }>(
        `SELECT rule, count(*) AS n FROM certificates WHERE issued_at > now() - $1::int * interval '1 second' GROUP BY 1`,
        [windowSeconds],
      ),
      this.db.query<{ rule: string; n: string }>(
        `SELECT rule, sum(repeat_count) AS n FROM denials WHERE denied_at > now() - $1::int * interval '1 second' GROUP BY 1`,
        [windowSeconds],
      ),
    ]);
    const hits = new Map<string, { issued: number; refused: number }>();
    const at = (rule: string) => hits.get(rule) ?? hits.set(rule, { issued: 0, refused: 0 }).get(rule)!;
    for (const r of issued.rows) at(r.rule).issued = Number(r.n);
    for (const r of refused.rows) at(r.rule).refused = Number(r.n);
    return [...hits].map(([rule, h]) => ({ rule, ...h }));
  }
}
