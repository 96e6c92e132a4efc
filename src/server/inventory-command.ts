// `workload-ca inventory`: the inventory API in the terminal. Always through the admin API, so it
// answers the same against the local embedded CA (whose ledger only the server may open) and a
// remote one (`--server`), with the same filters as the API.

import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { adminGet } from './admin-client.js';
import { parseDuration } from '../policy/duration.js';

const USAGE = `usage: workload-ca inventory ls [--spiffe-id ID | --prefix SPIFFE_ID_PREFIX] [--path api|acme|est]
                              [--status live|expired|revoked] [--expires-within DURATION]
                              [--issued-after TIME] [--issued-before TIME] [--limit N] [--all]
                              [--requester KIND:ID | --eab-binding NAME | --eab-key KEY_ID]
       workload-ca inventory show SERIAL [--pem]
       workload-ca inventory stats [--by trust_domain|path|spiffe_id_prefix] [--depth N]
       workload-ca inventory denials [--limit N] [--all]
  every form takes --json (the API's own JSON) and --server URL (another replica or a remote CA)`;

/** One API request: the path and query it names. Pure, so the command line is testable alone. */
export type InventoryQuery =
  | { readonly kind: 'ls'; readonly query: URLSearchParams; readonly all: boolean }
  | { readonly kind: 'show'; readonly serial: string; readonly pem: boolean }
  | { readonly kind: 'stats'; readonly query: URLSearchParams }
  | { readonly kind: 'denials'; readonly query: URLSearchParams; readonly all: boolean };

export interface InventoryArgs {
  readonly request: InventoryQuery;
  readonly json: boolean;
  readonly server?: string;
}

type Parsed = { ok: true; args: InventoryArgs } | { ok: false; reason: string };

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

export function parseInventoryArgs(argv: readonly string[], now: number = Date.now()): Parsed {
  const [verb, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        'spiffe-id': { type: 'string' },
        prefix: { type: 'string' },
        path: { type: 'string' },
        status: { type: 'string' },
        'expires-within': { type: 'string' },
        'issued-after': { type: 'string' },
        'issued-before': { type: 'string' },
        requester: { type: 'string' },
        'eab-binding': { type: 'string' },
        'eab-key': { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean' },
        pem: { type: 'boolean' },
        by: { type: 'string' },
        depth: { type: 'string' },
        json: { type: 'boolean' },
        server: { type: 'string' },
      },
    });
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const { values: v, positionals } = parsed;
  const common = { json: v.json === true, ...(v.server !== undefined && { server: v.server }) };
  const only = (allowed: readonly string[]): string | null => {
    const extra = Object.keys(v).filter((k) => !allowed.includes(k) && k !== 'json' && k !== 'server');
    return extra.length > 0 ? `--${extra[0]} does not apply to \`inventory ${verb}\`` : null;
  };
  const limit = (): string | null =>
    v.limit === undefined || (/^[1-9]\d{0,3}$/.test(v.limit) && Number(v.limit) <= 1000) ? null : '--limit must be a number from 1 to 1000';

  switch (verb) {
    case 'ls': {
      const wrong =
        only([
          'spiffe-id',
          'prefix',
          'path',
          'status',
          'expires-within',
          'issued-after',
          'issued-before',
          'requester',
          'eab-binding',
          'eab-key',
          'limit',
          'all',
        ]) ?? limit();
      if (wrong) return { ok: false, reason: wrong };
      if (positionals.length > 0) return { ok: false, reason: `unexpected ${positionals[0]}` };
      if (v['spiffe-id'] !== undefined && v.prefix !== undefined) return { ok: false, reason: 'give --spiffe-id or --prefix, not both' };
      if (v.path !== undefined && !['api', 'acme', 'est'].includes(v.path)) return { ok: false, reason: '--path must be api, acme or est' };
      if (v.status !== undefined && !['live', 'expired', 'revoked'].includes(v.status)) {
        return { ok: false, reason: '--status must be live, expired or revoked' };
      }
      for (const t of ['issued-after', 'issued-before'] as const) {
        if (v[t] !== undefined && !TIME.test(v[t])) return { ok: false, reason: `--${t} must be an RFC 3339 time, like 2026-11-29T08:00:00Z` };
      }
      const q = new URLSearchParams();
      if (v['spiffe-id'] !== undefined) q.set('spiffe_id', v['spiffe-id']);
      if (v.prefix !== undefined) q.set('spiffe_id_prefix', v.prefix);
      if (v.path !== undefined) q.set('path', v.path);
      if (v.status !== undefined) q.set('status', v.status);
      if (v['issued-after'] !== undefined) q.set('issued_after', v['issued-after']);
      if (v['issued-before'] !== undefined) q.set('issued_before', v['issued-before']);
      if (v.requester !== undefined) {
        // KIND:ID, as `revoke --requester` takes it; the ID may itself hold colons.
        const at = v.requester.indexOf(':');
        if (at < 1 || at === v.requester.length - 1) return { ok: false, reason: '--requester must be KIND:ID, e.g. est-client:gw-0042@gateways' };
        q.set('requester_kind', v.requester.slice(0, at));
        q.set('requester_id', v.requester.slice(at + 1));
      }
      if (v['eab-binding'] !== undefined) q.set('acme_binding', v['eab-binding']);
      if (v['eab-key'] !== undefined) q.set('eab_key_id', v['eab-key']);
      if (v['expires-within'] !== undefined) {
        const d = parseDuration(v['expires-within']);
        if (!d.ok) return { ok: false, reason: `--expires-within: ${d.reason}` };
        // "Expiring within" means still valid now and gone by then.
        q.set('expires_after', new Date(now).toISOString());
        q.set('expires_before', new Date(now + d.seconds * 1000).toISOString());
      }
      if (v.limit !== undefined) q.set('limit', v.limit);
      return { ok: true, args: { request: { kind: 'ls', query: q, all: v.all === true }, ...common } };
    }
    case 'show': {
      const wrong = only(['pem']);
      if (wrong) return { ok: false, reason: wrong };
      if (positionals.length !== 1 || !/^[0-9a-fA-F]{1,40}$/.test(positionals[0]!)) return { ok: false, reason: 'give one serial, in hex' };
      return { ok: true, args: { request: { kind: 'show', serial: positionals[0]!.toLowerCase(), pem: v.pem === true }, ...common } };
    }
    case 'stats': {
      const wrong = only(['by', 'depth']);
      if (wrong) return { ok: false, reason: wrong };
      const by = v.by ?? 'trust_domain';
      if (!['trust_domain', 'path', 'spiffe_id_prefix'].includes(by))
        return { ok: false, reason: '--by must be trust_domain, path or spiffe_id_prefix' };
      if (v.depth !== undefined && !/^\d{1,2}$/.test(v.depth)) return { ok: false, reason: '--depth must be a number from 0 to 16' };
      const q = new URLSearchParams({ group_by: by, ...(v.depth !== undefined && { depth: v.depth }) });
      return { ok: true, args: { request: { kind: 'stats', query: q }, ...common } };
    }
    case 'denials': {
      const wrong = only(['limit', 'all']) ?? limit();
      if (wrong) return { ok: false, reason: wrong };
      const q = new URLSearchParams(v.limit !== undefined ? { limit: v.limit } : {});
      return { ok: true, args: { request: { kind: 'denials', query: q, all: v.all === true }, ...common } };
    }
    default:
      return { ok: false, reason: verb === undefined ? 'give ls, show, stats or denials' : `unknown inventory command ${JSON.stringify(verb)}` };
  }
}

interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

/** Every page when `all`, else the first: `--all` on a large ledger is the operator's choice. */
async function pages(config: Config, path: string, query: URLSearchParams, all: boolean, server?: string): Promise<Page> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(query);
    if (cursor !== null) q.set('cursor', cursor);
    const page = (await adminGet(config, `${path}?${q.toString()}`, server)) as Page;
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!all) return { items, next_cursor: cursor };
  } while (cursor !== null);
  return { items, next_cursor: null };
}

/** Left-aligned columns, two spaces apart: readable, and cut/awk-able. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** "in 3h12m", "2d ago": how an incident responder reads an expiry. */
export function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const s = Math.round(Math.abs(ms) / 1000);
  const text =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m`
        : s < 86_400
          ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
          : `${Math.floor(s / 86_400)}d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

function statusOf(c: Record<string, unknown>, now: number): string {
  const revocation = c.revocation as { reason?: number } | null | undefined;
  if (revocation) return `revoked (${revocation.reason ?? 0})`;
  if (c.revoked === true) return 'revoked';
  return Date.parse(String(c.not_after)) > now ? 'live' : 'expired';
}

export async function inventoryCommand(argv: string[], config: () => Config, now: () => number = Date.now): Promise<number> {
  const parsed = parseInventoryArgs(argv, now());
  if (!parsed.ok) {
    console.error(`${parsed.reason}\n${USAGE}`);
    return 2;
  }
  const { request: r, json, server } = parsed.args;
  const cfg = config();
  const t = now();
  switch (r.kind) {
    case 'ls': {
      const page = await pages(cfg, '/v1/admin/certificates', r.query, r.all, server);
      if (json) return print(page);
      const rows = page.items.map((c) => [
        String(c.serial),
        String(c.spiffe_id),
        String(c.path),
        String(c.rule),
        `${String(c.not_after)} (${relative(String(c.not_after), t)})`,
        statusOf(c, t),
      ]);
      console.log(table(['SERIAL', 'SPIFFE ID', 'PATH', 'RULE', 'NOT AFTER', 'STATUS'], rows));
      if (page.next_cursor !== null) console.log(`(more: --all, or narrow the filters)`);
      return 0;
    }
    case 'show': {
      const found = (await adminGet(cfg, `/v1/admin/certificates/${r.serial}`, server, { notFound: null })) as Record<string, unknown>[] | null;
      if (found === null) {
        console.error(`no certificate with serial ${r.serial}`);
        return 1;
      }
      if (json) return print(found);
      for (const c of found) {
        if (r.pem) {
          process.stdout.write(String(c.certificate_pem));
          continue;
        }
        const fields: [string, string][] = [
          ['serial', String(c.serial)],
          ['spiffe id', String(c.spiffe_id)],
          ['dns names', (c.dns_names as string[]).join(', ') || '-'],
          ['ip addresses', (c.ip_addresses as string[]).join(', ') || '-'],
          ['path', String(c.path)],
          ['requester', `${String(c.requester_kind)} ${String(c.requester_id)}`],
          ['rule', String(c.rule)],
          ['policy', String(c.policy_hash)],
          ['not before', String(c.not_before)],
          ['not after', `${String(c.not_after)} (${relative(String(c.not_after), t)})`],
          ['status', statusOf(c, t)],
          ['issuer key id', String(c.issuer_key_id)],
        ];
        console.log(table(['FIELD', 'VALUE'], fields).split('\n').slice(1).join('\n'));
      }
      return 0;
    }
    case 'stats': {
      const stats = (await adminGet(cfg, `/v1/admin/stats/live?${r.query.toString()}`, server)) as {
        group_by: string;
        groups: { key: string; count: number }[];
      };
      if (json) return print(stats);
      console.log(
        table(
          [stats.group_by.toUpperCase(), 'LIVE'],
          stats.groups.map((g) => [g.key, String(g.count)]),
        ),
      );
      return 0;
    }
    case 'denials': {
      const page = await pages(cfg, '/v1/admin/denials', r.query, r.all, server);
      if (json) return print(page);
      const rows = page.items.map((d) => [
        String(d.denied_at),
        String(d.path),
        String(d.code),
        String(d.rule),
        `${String(d.requester_kind)} ${String(d.requester_id)}`,
        String(d.repeat_count ?? 1),
        String(d.reason),
      ]);
      console.log(table(['WHEN', 'PATH', 'CODE', 'RULE', 'REQUESTER', 'TIMES', 'REASON'], rows));
      if (page.next_cursor !== null) console.log(`(more: --all, or --limit)`);
      return 0;
    }
  }
}

function print(value: unknown): number {
  console.log(JSON.stringify(value, null, 2));
  return 0;
}
