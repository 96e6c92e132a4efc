// The production audit pipeline with real parts: `serve` (two workers) producing to BullMQ on a
// private redis-server, `worker` writing to a fresh Postgres database through a TCP relay that a
// test can cut. Every fault ends with the same check: the serials clients received are exactly
// the ledger's rows, each once.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AUDIT_QUEUE } from '../../src/audit/queue-names.js';
import { createDatabase, startRedis, startRelay, type Relay, type TestDatabase, type TestRedis } from '../support/infra.js';
import { issueMany } from '../support/load.js';
import { https, removeDataDir, startCli, startServer, type TestProcess, type TestServer } from '../support/server.js';
import { eventually as pollUntil } from '../support/eventually.js';

const ADMIN = 'test-admin-token-0123456789';
let db: TestDatabase;
let redis: TestRedis;
let relay: Relay;
let server: TestServer;
let worker: TestProcess;
let token: string;
let workerEnv: NodeJS.ProcessEnv;
const prefix = `wlca-test-${randomBytes(4).toString('hex')}`;
/** Every serial a client received a certificate for, over the whole suite. */
const received = new Set<string>();
/** Redis and Postgres restarts take a while on a busy machine: a minute, checked five times a second. */
const eventually = (what: string, probe: () => Promise<boolean>): Promise<void> => pollUntil(what, probe, 60_000, 200);

/** The ledger holds exactly the received serials, each once. */
async function ledgerMatchesReceived(): Promise<void> {
  await eventually(`${received.size} ledger rows`, async () => (await db.count('certificates')) >= received.size);
  const rows = await db.query<{ serial: string }>('SELECT serial FROM certificates');
  const ledger = rows.map((r) => r.serial);
  assert.equal(new Set(ledger).size, ledger.length, 'no serial twice');
  assert.deepEqual([...ledger].sort(), [...received].sort());
}

async function load(total: number, concurrency = 16) {
  const r = await issueMany(server, token, { total, concurrency });
  for (const s of r.serials) received.add(s);
  return r;
}

const startWorker = () => startCli(['worker'], workerEnv, /ledger worker running/);

before(async () => {
  db = await createDatabase();
  redis = await startRedis();
  relay = await startRelay(5432);
  const env = {
    DATABASE_URL: db.url(),
    REDIS_URL: redis.url,
    // The development CA's key file is not encrypted; production refuses that unless told.
    WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY: 'true',
    WORKLOAD_CA_REDIS_PREFIX: prefix,
    WORKLOAD_CA_DEV_TOKEN_ISSUER: 'true',
    WORKLOAD_CA_ADMIN_TOKEN: ADMIN,
  };
  // The first start in production mode needs a CA and a policy: borrow the embedded bootstrap.
  const bootstrap = await startServer({ workers: 1 });
  await bootstrap.stop();
  server = await startServer({ workers: 2, dataDir: bootstrap.dataDir, env });
  workerEnv = { ...server.env, DATABASE_URL: db.url(relay.port), WORKLOAD_CA_WORKER_METRICS_PORT: '0' };
  worker = await startWorker();
  token = (await server.cli(['token', '--namespace', 'ledger', '--service-account', 'test', '--ttl', '3600'])).stdout.trim();
});

after(async () => {
  await worker?.stop();
  await server?.stop();
  if (server) removeDataDir(server.dataDir);
  await relay?.close();
  await redis?.stop();
  await db?.drop();
});

describe('the ledger pipeline', () => {
  test('issued certificates and denials reach Postgres', async () => {
    const r = await load(50);
    assert.equal(r.statuses.get(201), 50);
    const denied = await https(server, 'POST', '/v1/svids', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ csr: (await import('../support/csr.js')).buildCsr().pem, ttl: 86400 * 30 }),
    });
    assert.equal(denied.status, 403);
    await ledgerMatchesReceived();
    await eventually('the denial row', async () => (await db.count('denials')) === 1);
    const [row] = await db.query<{
      rule: string;
      policy_hash: string;
      requester_kind: string;
      requester_id: string;
      path: string;
      csr_sha256: string;
    }>('SELECT rule, policy_hash, requester_kind, requester_id, path, csr_sha256 FROM certificates LIMIT 1');
    assert.equal(row!.rule, 'kubernetes-service-accounts');
    assert.match(row!.policy_hash, /^sha256:/);
    assert.equal(row!.requester_kind, 'token');
    assert.match(row!.requester_id, /system:serviceaccount:ledger:test$/);
    assert.match(row!.csr_sha256, /^[0-9a-f]{64}$/);
  });

  test('the same event delivered twice is one row; malformed and unstorable events go to dead_letters, the rest is written', async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(AUDIT_QUEUE, { connection, prefix });
    const serial = randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1');
    const event = {
      v: 1,
      kind: 'issued',
      id: randomUUID(),
      path: 'api',
      requester: { kind: 'token', issuer: 'https://t', subject: 's', claims: {} },
      policyHash: 'sha256:00',
      rule: 'replayed',
      csrSha256: 'ab'.repeat(32),
      at: new Date().toISOString(),
      serial,
      issuerKeyId: 'abcd',
      spiffeId: 'spiffe://workload-ca.test/replayed',
      dnsNames: [],
      ipAddresses: [],
      notBefore: new Date().toISOString(),
      notAfter: new Date(Date.now() + 3600e3).toISOString(),
      certificate: 'MAo=',
    };
    await queue.add('events', { events: [event] });
    await queue.add('events', { events: [event, { kind: 'issued', serial: 'not hex' }] });
    // A claim jsonb cannot store (NUL) must not hold back the good event travelling with it.
    const nextSerial = () =>
      randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '2');
    const poisoned = {
      ...event,
      id: randomUUID(),
      serial: nextSerial(),
      requester: { kind: 'token', issuer: 'https://t', subject: 's', claims: { note: 'a\u0000b' } },
    };
    const neighbour = { ...event, id: randomUUID(), serial: nextSerial() };
    await queue.add('events', { events: [poisoned, neighbour] });
    await eventually(
      'the rows and the dead letters',
      async () =>
        (await db.query('SELECT 1 FROM certificates WHERE serial = ANY($1)', [[serial, neighbour.serial]])).length === 2 &&
        (await db.count('dead_letters')) === 2,
    );
    // Once no job is left to run, no duplicate row can still be on its way.
    await eventually('the queue drained', async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    });
    assert.equal((await db.query('SELECT 1 FROM certificates WHERE serial = $1', [serial])).length, 1);
    assert.equal((await db.query('SELECT 1 FROM certificates WHERE serial = $1', [poisoned.serial])).length, 0);
    const reasons = (await db.query<{ reason: string; event: string }>('SELECT reason, event FROM dead_letters ORDER BY id')).map((d) => d.reason);
    assert.match(reasons[0]!, /malformed audit event/);
    assert.match(reasons[1]!, /ledger refused the event/);
    const [stored] = await db.query<{ event: string }>('SELECT event FROM dead_letters WHERE reason LIKE $1', ['ledger refused%']);
    assert.equal(JSON.parse(stored!.event).serial, poisoned.serial);
    await db.query('DELETE FROM certificates WHERE serial = ANY($1)', [[serial, neighbour.serial]]);
    await queue.close();
    connection.disconnect();
  });

  test('Postgres unreachable: issuance continues, events wait in Redis, and all land once it returns', async () => {
    await relay.cut();
    const before = await db.count('certificates');
    const mark = worker.output().length;
    const r = await load(300);
    assert.equal(r.statuses.get(201), 300, JSON.stringify([...r.statuses]));
    await eventually('the worker to try and fail', async () => worker.output().slice(mark).includes('ledger write failed'));
    assert.equal(await db.count('certificates'), before, 'nothing can have been written');
    const metrics = (await https(server, 'GET', '/metrics')).body;
    const depth = Number(/^workload_ca_audit_queue_depth (\S+)/m.exec(metrics)?.[1]);
    assert.ok(depth > 0, `queue depth ${depth}`);
    await relay.restore();
    await ledgerMatchesReceived();
  });

  test('the worker killed with SIGKILL mid-batch: after a restart nothing is lost or doubled', async () => {
    await worker.stop();
    await load(3000, 32);
    const before = await db.count('certificates');
    worker = await startWorker();
    // Killed as soon as its first transaction lands, whatever the machine's speed.
    await pollUntil('the first rows of the backlog', async () => (await db.count('certificates')) > before, 60_000, 5);
    await worker.stop('SIGKILL');
    const partial = await db.count('certificates');
    assert.ok(partial < received.size, `the kill came before the end (${partial} of ${received.size})`);
    worker = await startWorker();
    await ledgerMatchesReceived();
  });

  test('Redis unreachable: fast 503 with Retry-After and nothing issued; issuance resumes when it returns', async () => {
    const before = await db.count('certificates');
    await redis.stop();
    const started = Date.now();
    const res = await https(server, 'POST', '/v1/svids', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ csr: (await import('../support/csr.js')).buildCsr().pem }),
    });
    const elapsed = Date.now() - started;
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().type, 'urn:workload-ca:problem:audit-unavailable');
    assert.ok(elapsed < 1500, `503 took ${elapsed} ms`);
    assert.equal((await https(server, 'GET', '/readyz')).status, 503);
    const burst = await load(100);
    assert.equal(burst.statuses.get(201) ?? 0, 0, 'nothing issued while Redis is down');

    await redis.start();
    await eventually('issuance resumes', async () => {
      const r = await load(4, 4);
      return r.statuses.get(201) === 4;
    });
    assert.equal((await https(server, 'GET', '/readyz')).status, 200);
    await ledgerMatchesReceived();
    assert.ok((await db.count('certificates')) > before);
  });
});

describe('the inventory API', () => {
  const admin = (path: string, token = ADMIN) => https(server, 'GET', path, { headers: { authorization: `Bearer ${token}` } });

  test('is never open', async () => {
    assert.equal((await https(server, 'GET', '/v1/admin/certificates')).status, 401);
    assert.equal((await admin('/v1/admin/certificates', 'wrong-token-wrong-token')).status, 401);
    assert.equal((await admin('/v1/admin/certificates', token)).status, 401, 'a workload token is not an admin credential');
  });

  test('lists with filters and cursor pagination, without repeats or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin(
        `/v1/admin/certificates?spiffe_id=${encodeURIComponent('spiffe://workload-ca.test/ns/ledger/sa/test')}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.status, 200, res.body);
      const page = res.json();
      seen.push(...page.items.map((i: { serial: string }) => i.serial));
      cursor = page.next_cursor;
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length);
    assert.deepEqual([...seen].sort(), [...received].sort());

    const prefix = await admin(
      `/v1/admin/certificates?spiffe_id_prefix=${encodeURIComponent('spiffe://workload-ca.test/ns/')}&path=api&status=live&limit=5`,
    );
    assert.equal(prefix.json().items.length, 5);
    assert.equal((await admin('/v1/admin/certificates?status=expired')).json().items.length, 0);
    assert.equal((await admin('/v1/admin/certificates?path=acme')).json().items.length, 0);
    const future = new Date(Date.now() + 86400e3).toISOString();
    assert.equal((await admin(`/v1/admin/certificates?issued_after=${future}`)).json().items.length, 0);
    assert.equal((await admin(`/v1/admin/certificates?expires_before=${future}&limit=1`)).json().items.length, 1);
    assert.equal((await admin('/v1/admin/certificates?cursor=garbage')).status, 400);
    const forged = Buffer.from(JSON.stringify(['1', 'x'])).toString('base64url');
    assert.equal((await admin(`/v1/admin/certificates?cursor=${forged}`)).status, 400);
    assert.equal((await admin(`/v1/admin/denials?cursor=${forged}`)).status, 400);
    assert.equal((await admin('/v1/admin/certificates?limit=0')).status, 400);
    assert.equal((await admin('/v1/admin/certificates?issued_after=yesterday')).status, 400);
  });

  test('gets one certificate by serial with its DER', async () => {
    const serial = [...received][0]!;
    const res = await admin(`/v1/admin/certificates/${serial}`);
    assert.equal(res.status, 200);
    const [cert] = res.json();
    assert.equal(cert.serial, serial);
    assert.match(cert.certificate_pem, /BEGIN CERTIFICATE/);
    const { X509Certificate } = await import('node:crypto');
    assert.equal(new X509Certificate(Buffer.from(cert.certificate, 'base64')).serialNumber.toLowerCase(), serial);
    assert.equal((await admin(`/v1/admin/certificates/${'0'.repeat(32)}`)).status, 404);
  });

  test('counts live certificates per trust domain, prefix and path; lists recent denials', async () => {
    const td = (await admin('/v1/admin/stats/live?group_by=trust_domain')).json();
    assert.deepEqual(td.groups, [{ key: 'workload-ca.test', count: received.size }]);
    const byPrefix = (await admin('/v1/admin/stats/live?group_by=spiffe_id_prefix&depth=2')).json();
    assert.deepEqual(byPrefix.groups, [{ key: 'spiffe://workload-ca.test/ns/ledger', count: received.size }]);
    const byPath = (await admin('/v1/admin/stats/live?group_by=path')).json();
    assert.deepEqual(byPath.groups, [{ key: 'api', count: received.size }]);
    const denials = (await admin('/v1/admin/denials?limit=10')).json();
    assert.equal(denials.items.length, 1);
    assert.equal(denials.items[0].code, 'lifetime-not-allowed');
    assert.equal(denials.items[0].rule, 'kubernetes-service-accounts');
  });
});
