// Volume and concurrency: 50,000 issuances through the API become 50,000 ledger rows, two
// ledger workers share the queue, and migrations run by several processes at once apply once.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDatabase, startRedis, type TestDatabase, type TestRedis } from '../support/infra.js';
import { issueMany } from '../support/load.js';
import { readMigrations } from '../../src/ledger/migrate.js';
import { CLI, ROOT, removeDataDir, startCli, startServer, type TestProcess, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';

let db: TestDatabase;
let redis: TestRedis;
let server: TestServer;
const workers: TestProcess[] = [];

before(async () => {
  db = await createDatabase();
  redis = await startRedis();
  const bootstrap = await startServer({ workers: 1 });
  await bootstrap.stop();
  server = await startServer({
    workers: 2,
    dataDir: bootstrap.dataDir,
    env: {
      DATABASE_URL: db.url(),
      REDIS_URL: redis.url,
      // The development CA's key file is not encrypted; production refuses that unless told.
      WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY: 'true',
      WORKLOAD_CA_REDIS_PREFIX: `wlca-vol-${randomBytes(4).toString('hex')}`,
      WORKLOAD_CA_DEV_TOKEN_ISSUER: 'true',
    },
  });
  for (let i = 0; i < 2; i++) {
    workers.push(await startCli(['worker'], { ...server.env, WORKLOAD_CA_WORKER_METRICS_PORT: '0' }, /ledger worker running/));
  }
});

after(async () => {
  for (const w of workers) await w.stop();
  await server?.stop();
  if (server) removeDataDir(server.dataDir);
  await redis?.stop();
  await db?.drop();
});

test('50,000 issuances become 50,000 ledger rows, written by two workers', async () => {
  const token = (await server.cli(['token', '--namespace', 'volume', '--service-account', 'load', '--ttl', '3600'])).stdout.trim();
  const r = await issueMany(server, token, { total: 50_000, concurrency: 64, csrs: 256 });
  assert.deepEqual([...r.statuses], [[201, 50_000]]);
  assert.equal(new Set(r.serials).size, 50_000);

  await eventually('50,000 ledger rows', async () => (await db.count('certificates')) >= 50_000, 120_000, 500);
  const [counts] = await db.query<{ rows: number; serials: number }>(
    'SELECT count(*)::int AS rows, count(DISTINCT serial)::int AS serials FROM certificates',
  );
  assert.deepEqual(counts, { rows: 50_000, serials: 50_000 });
  const ledger = new Set((await db.query<{ serial: string }>('SELECT serial FROM certificates')).map((x) => x.serial));
  assert.ok(
    r.serials.every((s) => ledger.has(s)),
    'every serial a client received is in the ledger',
  );

  // Both workers took a share, and their metrics say how many rows each wrote.
  let total = 0;
  for (const w of workers) {
    const url = /metrics on (http:\/\/\S+)/.exec(w.output())![1]!;
    const body = await (await fetch(url)).text();
    const written = Number(/^workload_ca_ledger_rows_written_total (\d+)/m.exec(body)?.[1] ?? 0);
    assert.ok(written > 0, 'each worker wrote some rows');
    total += written;
    assert.match(body, /^workload_ca_ledger_dead_letters_total 0/m);
  }
  assert.equal(total, 50_000);
});

test('migrations run by three processes at once apply exactly once', async () => {
  const fresh = await createDatabase();
  try {
    const run = () =>
      promisify(execFile)(process.execPath, [...CLI, 'migrate'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: fresh.url() },
      });
    const outputs = await Promise.all([run(), run(), run()]);
    const versions = readMigrations(join(ROOT, 'migrations')).map((m) => m.version);
    const applied = outputs.filter((o) => o.stdout.includes(`applied migrations ${versions.join(', ')}`));
    assert.equal(applied.length, 1, outputs.map((o) => o.stdout).join(''));
    assert.equal(outputs.filter((o) => /up to date/.test(o.stdout)).length, 2);
    assert.deepEqual(
      await fresh.query('SELECT version FROM schema_migrations ORDER BY version'),
      versions.map((version) => ({ version })),
    );
  } finally {
    await fresh.drop();
  }
});
