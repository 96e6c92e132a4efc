// `npm run bench:ui`: how fast the dashboard's pages answer over a large ledger.
//
// Seeds a fresh Postgres database with a ledger of --rows certificates (default 1,000,000) and
// --denials refusals (default 200,000) spread over the last 14 days, in one `INSERT ... SELECT
// generate_series` each, then starts `workload-ca serve` in production mode against it, signs in
// to /ui/ and requests every page --samples times over one keep-alive connection, printing p50
// and p95 per page as a Markdown table. Needs the machine's Postgres and Redis.
//
// The shape of the fleet: 70% Kubernetes workloads over the API (1 h certificates), 10% VMs over
// ACME (24 h), 20% gateway devices over EST (7 days), so about 110,000 certificates are live.

import { Agent, request } from 'node:https';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { prepareProduction } from './lib/production.js';
import { CLI, ROOT, removeDataDir, startServer } from '../test/support/server.js';
import { scratchDir } from '../test/support/scratch.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    denials: { type: 'string', default: '200000' },
    samples: { type: 'string', default: '20' },
  },
});
const ROWS = Number(values.rows);
const DENIALS = Number(values.denials);
const SAMPLES = Number(values.samples);
const TD = 'prod.example';
const ADMIN = 'bench-admin-token-0123456789abcdef';

const SEED_CERTIFICATES = `
INSERT INTO certificates (issuer_key_id, serial, spiffe_id, trust_domain, dns_names, ip_addresses, not_before, not_after, path,
  requester_kind, requester_id, requester, rule, policy_hash, csr_sha256, certificate, event_id, issued_at, recorded_at)
SELECT 'ab' || repeat('cd', 19), md5(i::text || 'serial'),
  CASE k WHEN 'api' THEN 'spiffe://${TD}/ns/ns' || (i % 40) || '/sa/sa' || (i % 23)
         WHEN 'acme' THEN 'spiffe://${TD}/vm/fleet' || (i % 12) || '/host' || (i % 900) || '.fleet' || (i % 12) || '.vm.${TD}'
         ELSE 'spiffe://edge.${TD}/gateway/gw' || (i % 250) || '/device/d' || (i % 20000) END,
  CASE k WHEN 'est' THEN 'edge.${TD}' ELSE '${TD}' END,
  CASE k WHEN 'acme' THEN ARRAY['host' || (i % 900) || '.fleet' || (i % 12) || '.vm.${TD}'] ELSE '{}'::text[] END,
  '{}'::text[], at, at + life, k,
  CASE k WHEN 'api' THEN 'token' WHEN 'acme' THEN 'acme-account' ELSE 'est-client' END,
  'requester-' || (i % 1000),
  jsonb_build_object('kind', 'token', 'subject', 'requester-' || (i % 1000)),
  CASE k WHEN 'api' THEN CASE WHEN i % 3 = 0 THEN 'svid-renewal' ELSE 'kubernetes-service-accounts' END
         WHEN 'acme' THEN 'acme-vms' ELSE 'est-gateways' END,
  'sha256:' || repeat('ab', 32), md5(i::text || 'csr') || md5(i::text || 'csr2'),
  decode(repeat(md5(i::text), 32), 'hex'), md5(i::text || 'event')::uuid, at, at + interval '20 milliseconds'
FROM (
  SELECT i, now() - (i::float8 / $1) * interval '14 days' AS at,
    CASE WHEN i % 10 < 7 THEN 'api' WHEN i % 10 = 7 THEN 'acme' ELSE 'est' END AS k,
    CASE WHEN i % 10 < 7 THEN interval '1 hour' WHEN i % 10 = 7 THEN interval '24 hours' ELSE interval '7 days' END AS life
  FROM generate_series(1, $1) AS i
) s`;

const SEED_DENIALS = `
INSERT INTO denials (event_id, path, requester_kind, requester_id, requester, rule, code, reason, policy_hash, csr_sha256,
  requested_spiffe_id, denied_at, recorded_at, client_address, repeat_count)
SELECT md5(i::text || 'denial')::uuid, (ARRAY['api', 'acme', 'est'])[1 + i % 3], 'token', 'requester-' || (i % 500), '{}'::jsonb,
  (ARRAY['default-deny', 'api-authentication', 'guardrails', 'kubernetes-service-accounts', 'est-authentication'])[1 + i % 5],
  (ARRAY['no-matching-rule', 'unauthenticated', 'key-not-allowed', 'identity-not-allowed', 'unauthenticated'])[1 + i % 5],
  'a reason a responder reads', 'sha256:' || repeat('ab', 32), NULL, 'spiffe://${TD}/ns/ns' || (i % 40) || '/sa/x',
  now() - (i::float8 / $1) * interval '14 days', now(), '10.0.' || (i % 250) || '.' || (i % 200), 1 + i % 3
FROM generate_series(1, $1) AS i`;

/** Revocations for one certificate in a hundred of the last day's. */
const SEED_REVOCATIONS = `
INSERT INTO revocations (issuer_key_id, serial, reason, revoked_at, revoked_by)
SELECT issuer_key_id, serial, 1, now(), '{"kind":"operator"}' FROM certificates WHERE issued_at > now() - interval '1 day' AND serial LIKE '00%'`;

interface Result {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

async function main(): Promise<void> {
  const dataDir = scratchDir('wlca-ui-bench-');
  const backend = await prepareProduction(ROOT, CLI, dataDir, TD);
  const server = await startServer({ dataDir, env: { ...backend.env, WORKLOAD_CA_ADMIN_TOKEN: ADMIN }, workers: 1 });
  try {
    let t = Date.now();
    // Indexes are built once after the rows are in, rather than updated row by row: the same
    // indexes the migrations made, much sooner.
    const indexes = await backend.db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('certificates', 'denials') AND indexname NOT LIKE '%_pkey'`,
    );
    for (const i of indexes) await backend.db.query(`DROP INDEX ${i.indexname}`);
    await backend.db.query(SEED_CERTIFICATES, [ROWS]);
    await backend.db.query(SEED_DENIALS, [DENIALS]);
    await backend.db.query(SEED_REVOCATIONS);
    for (const i of indexes) await backend.db.query(i.indexdef);
    const seeded = (Date.now() - t) / 1000;
    t = Date.now();
    // What autovacuum does on its own after bulk inserts; without it index-only scans visit the heap.
    await backend.db.query('VACUUM ANALYZE certificates');
    await backend.db.query('VACUUM ANALYZE denials');
    await backend.db.query('VACUUM ANALYZE revocations');
    const vacuumed = (Date.now() - t) / 1000;
    const [live] = await backend.db.query<{ n: number }>('SELECT count(*)::int AS n FROM certificates WHERE not_after > now()');
    console.error(`seeded ${ROWS} certificates and ${DENIALS} denials in ${seeded.toFixed(1)} s, vacuum ${vacuumed.toFixed(1)} s; ${live!.n} live`);

    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: server.rootPem });
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Result> =>
      new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const req = request(`${server.url}${path}`, { method, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              ms: Number(process.hrtime.bigint() - started) / 1e6,
              body: Buffer.concat(chunks).toString(),
              headers: res.headers,
            }),
          );
        });
        req.on('error', reject);
        req.end(body);
      });

    const login = await get(
      '/ui/login',
      { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      'POST',
      new URLSearchParams({ token: ADMIN }).toString(),
    );
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const [sample] = await backend.db.query<{ serial: string; dns: string }>(
      `SELECT serial, dns_names[1] AS dns FROM certificates WHERE path = 'acme' AND not_after > now() ORDER BY issued_at DESC LIMIT 1`,
    );
    const ns = `spiffe://${TD}/ns/ns3`;
    const firstPage = await get(`/ui/workloads?node=${encodeURIComponent(ns)}`, { cookie });
    const nextHref = /href="([^"]+)" rel="next"/.exec(firstPage.body)?.[1]?.replace(/&amp;/g, '&');
    const pages: [string, string][] = [
      ['Overview', '/ui/'],
      ['Workloads: trust domains', '/ui/workloads'],
      ['Workloads: a trust domain (tree + its certificates)', `/ui/workloads?node=${encodeURIComponent(`spiffe://${TD}`)}`],
      ['Workloads: the edge trust domain (100k live devices)', `/ui/workloads?node=${encodeURIComponent(`spiffe://edge.${TD}`)}`],
      ['Workloads: a namespace', `/ui/workloads?node=${encodeURIComponent(ns)}`],
      ...(nextHref ? [['Workloads: a namespace, next page', nextHref] as [string, string]] : []),
      ['Workloads: expiring within 15 min', '/ui/workloads?expiring=15m'],
      ['Workloads: expiring within 24 h', '/ui/workloads?expiring=24h'],
      ['Search: serial', `/ui/workloads?q=${sample!.serial}`],
      ['Search: DNS name', `/ui/workloads?q=${encodeURIComponent(sample!.dns)}`],
      ['Search: SPIFFE ID', `/ui/workloads?q=${encodeURIComponent(`spiffe://edge.${TD}/gateway/gw17`)}`],
      ['Certificate', `/ui/certificates/${sample!.serial}`],
      ['Refusals, 24 h', '/ui/refusals?window=24h'],
      ['Refusals, 7 d', '/ui/refusals?window=7d'],
      ['Refusal events (one group, 24 h)', '/ui/refusals/events?rule=default-deny&code=no-matching-rule&window=24h'],
      ['Policy, 24 h', '/ui/policy?window=24h'],
      ['Policy, 7 d', '/ui/policy?window=7d'],
    ];

    const rows: string[] = [];
    for (const [name, path] of pages) {
      const warm = await get(path, { cookie });
      if (warm.status !== 200) throw new Error(`${path}: ${warm.status}\n${warm.body.slice(0, 500)}`);
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) times.push((await get(path, { cookie })).ms);
      times.sort((a, b) => a - b);
      const pct = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
      const row = `| ${name} | ${pct(0.5).toFixed(0)} | ${pct(0.95).toFixed(0)} | ${(warm.body.length / 1024).toFixed(0)} |`;
      console.error(row);
      rows.push(row);
    }
    agent.destroy();
    console.log(
      `\n${ROWS.toLocaleString('en-US')} certificates (${live!.n.toLocaleString('en-US')} live), ${DENIALS.toLocaleString('en-US')} refusals;`,
    );
    console.log(
      `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; ${SAMPLES} requests per page after one warm-up\n`,
    );
    console.log('| page | p50 ms | p95 ms | KiB |\n| --- | ---: | ---: | ---: |');
    console.log(rows.join('\n'));
  } finally {
    await server.stop();
    await backend.cleanup();
    removeDataDir(dataDir);
  }
}

await main();
