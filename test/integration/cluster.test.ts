// Replicas share nothing: two `serve` processes and two ledger workers on one Postgres and one
// Redis, behind Debian's nginx as a TCP (TLS passthrough) balancer. Under API, EST and ACME load,
// one replica and one worker are killed with SIGKILL and restarted. Only requests in flight on the
// killed replica may fail, and only at the connection; ACME orders begun on that replica finish on
// the other; afterwards every certificate any client received is in the ledger exactly once.
// `npm run test:cluster` runs this file alone.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Agent, buildConnector } from 'undici';
import { RawAcmeClient, newAccountKey } from '../support/acme-client.js';
import { runClosedLoop, type DriveResult, type MixEntry } from '../support/drive.js';
import { TRUST_DOMAIN, prepareRequests as prepareEstRequests, prepareWorld, suitePolicy, type Gateway } from '../support/est-workload.js';
import { awaitLedger } from '../support/ledger-check.js';
import { prepareRequests as prepareApiRequests, spiffeIdFor } from '../support/workload.js';
import { acmeScenario, createEab, startHttp01Responder, type Http01Responder } from '../support/scenarios/acme.js';
import { apiScenario } from '../support/scenarios/api.js';
import { estScenario } from '../support/scenarios/est.js';
import { normalizeSerial, type Scenario } from '../support/scenarios/scenario.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { buildCsr, sanExtension } from '../support/csr.js';
import { createDatabase, freePort, startRedis, type TestDatabase, type TestRedis } from '../support/infra.js';
import { startNginx, type Nginx } from '../support/nginx.js';
import { CLI, ROOT, startCli, startServer, type TestProcess, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';
import { scratchDir } from '../support/scratch.js';

const ADMIN = `admin-${randomBytes(8).toString('hex')}`;
const CLIENTS = 12;
/** What a client sees when the replica holding its connection dies: the connection, never a protocol error. */
const CONNECTION_LOST = /other side closed|ECONNRESET|socket hang up|EPIPE|ECONNREFUSED|UND_ERR_SOCKET|UND_ERR_CLOSED|SocketError|HTTP 503/;

let dir: string;
let db: TestDatabase;
let redis: TestRedis;
let dns: DnsServer;
let responder: Http01Responder;
let nginx: Nginx;
let env: NodeJS.ProcessEnv;
const ports: number[] = [];
/** Live processes, for the clean-up; a killed one is removed when it is killed. */
const replicas: (TestServer | null)[] = [null, null];
const workers: (TestProcess | null)[] = [null, null];
let rootPem: string;
let gateways: Gateway[];

const cli = (args: string[]) => promisify(execFile)(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });

async function startReplica(i: number): Promise<void> {
  replicas[i] = await startServer({ workers: 1, dataDir: dir, env: { ...env, WORKLOAD_CA_PORT: String(ports[i]) } });
}

async function startWorker(i: number): Promise<void> {
  workers[i] = await startCli(['worker'], { ...env, WORKLOAD_CA_WORKER_METRICS_PORT: '0' }, /ledger worker running/);
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

before(async () => {
  dir = scratchDir('wlca-cluster-');
  [db, redis, dns] = await Promise.all([createDatabase(), startRedis(), startDnsServer()]);
  responder = await startHttp01Responder(await freePort());
  ports.push(await freePort(), await freePort());
  const lbPort = await freePort();
  const world = prepareWorld(dir, 2);
  gateways = world.gateways;
  writeFileSync(join(dir, 'policy.yaml'), suitePolicy());
  env = {
    WORKLOAD_CA_DATA_DIR: dir,
    WORKLOAD_CA_CONFIG: world.configFile,
    WORKLOAD_CA_TRUST_DOMAIN: TRUST_DOMAIN,
    DATABASE_URL: db.url(),
    REDIS_URL: redis.url,
    // The development CA's key file is not encrypted; production refuses that unless told.
    WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY: 'true',
    WORKLOAD_CA_REDIS_PREFIX: `wlca-cluster-${randomBytes(4).toString('hex')}`,
    WORKLOAD_CA_ADMIN_TOKEN: ADMIN,
    WORKLOAD_CA_DEV_TOKEN_ISSUER: 'true',
    WORKLOAD_CA_ACME_HTTP01_PORT: String(responder.port),
    WORKLOAD_CA_ACME_RESOLVER: dns.address,
    // The responder is on loopback, which validation refuses unless it is allowed.
    WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '127.0.0.0/8',
    WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR: '1000000',
    // Replicas build ACME URLs from the balancer's address, as behind a real load balancer.
    WORKLOAD_CA_ACME_PUBLIC_URL: `https://127.0.0.1:${lbPort}`,
  };
  await cli(['init', join(dir, 'ca'), '--trust-domain', TRUST_DOMAIN]);
  rootPem = readFileSync(join(dir, 'ca/root-ca.pem'), 'utf8');
  // One after the other: the first start writes the HTTPS certificate the second one reuses.
  await startReplica(0);
  await startReplica(1);
  await startWorker(0);
  await startWorker(1);
  nginx = await startNginx(ports, lbPort);
});

after(async () => {
  await nginx?.close();
  for (const w of workers) await w?.stop();
  for (const r of replicas) await r?.stop();
  await responder?.close();
  await dns?.close();
  await redis?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two replicas and two workers behind nginx', () => {
  it('survive SIGKILL of a replica and a worker under load, and the ledger holds every certificate once', async (t) => {
    const url = new URL(`https://127.0.0.1:${nginx.port}`);
    const tokens = await Promise.all(
      ['a', 'b', 'c'].map(async (n) => (await cli(['token', '--namespace', `ns-${n}`, '--service-account', 'agent', '--ttl', '3600'])).stdout.trim()),
    );
    const credentials = tokens.map((token, i) => ({ token, expectedSpiffeId: spiffeIdFor(TRUST_DOMAIN, `ns-${'abc'[i]}`, 'agent') }));
    const issuingPem = readFileSync(join(dir, 'ca/issuing-ca.pem'), 'utf8');
    const acme = acmeScenario({ origin: url.origin, rootPem, trustDomain: TRUST_DOMAIN, adminToken: ADMIN, responder, ordersPerClient: 60 });
    const mix: MixEntry[] = [
      { scenario: apiScenario(url, rootPem, prepareApiRequests(32, credentials)) as Scenario<unknown>, weight: 60 },
      { scenario: estScenario(url, rootPem, issuingPem, gateways, prepareEstRequests(32, gateways)) as Scenario<unknown>, weight: 30 },
      { scenario: acme as Scenario<unknown>, weight: 10 },
    ];

    // ACME orders begun on replica 0: every connection of this client is pinned to it.
    const orders = await beginOrdersOn(ports[0]!, url, 3);

    const sessionsBefore = nginx.sessions().length;
    const load = runClosedLoop(mix, { concurrency: CLIENTS, warmupSeconds: 0, durationSeconds: 12, verifySample: 5 });
    // The kill comes once the load is under way on every path: each has a certificate in the ledger.
    await eventually(
      'certificates from every path in the ledger',
      async () => (await db.query('SELECT DISTINCT path FROM certificates')).length === 3,
    );
    process.kill(replicas[0]!.pid, 'SIGKILL');
    replicas[0] = null;
    await workers[0]!.stop('SIGKILL');
    workers[0] = null;
    await eventually('replica 0 to be gone', async () => !(await portOpen(ports[0]!)));

    // The orders begun on replica 0 finish through the balancer, on replica 1.
    const finished = await Promise.all(orders.map((o) => o.finish()));
    for (const f of finished) assert.equal(f.status, 'valid');

    // The outage itself: the load runs on replica 1 alone for a while, its clients reconnecting
    // through nginx, before replica 0 comes back. A length of time, not a wait for a condition.
    await new Promise((r) => setTimeout(r, 2000));
    await startReplica(0);
    await startWorker(0);
    const during: DriveResult = await load;

    // Sessions are logged when they end, and nginx flushes its access log every 100 ms. A session
    // of replica 0 logged after the kill is one the restarted replica served.
    const servedBy = (sessions: string[][]) => new Set(sessions.map((tried) => tried[tried.length - 1]));
    const replica = (i: number) => `127.0.0.1:${ports[i]}`;
    const both = (sessions: string[][]) => servedBy(sessions).has(replica(0)) && servedBy(sessions).has(replica(1));
    await eventually('sessions of both replicas in the access log', () => both(nginx.sessions().slice(sessionsBefore)));

    // After the restart, nothing fails, and the balancer uses the restarted replica again.
    const afterMark = nginx.sessions().length;
    const calm: DriveResult = await runClosedLoop(mix, { concurrency: CLIENTS, warmupSeconds: 0, durationSeconds: 5, verifySample: 5 });
    await eventually('a session of the restarted replica in the access log', () => servedBy(nginx.sessions().slice(afterMark)).has(replica(0)));

    const errors = during.kinds.flatMap((k) => k.errors.distinct.map((e) => ({ kind: k.kind, ...e })));
    const errorCount = during.kinds.reduce((n, k) => n + k.errors.total, 0);
    for (const e of errors) assert.match(e.message, CONNECTION_LOST, `${e.kind}: a failure that is not a lost connection: ${e.message}`);
    // A client holds one connection per path (three) and has one request in flight at a time; a
    // request fails only on a connection to the killed replica, and each such connection once.
    assert.ok(errorCount <= CLIENTS * 3, `${errorCount} failed requests with ${CLIENTS} clients`);
    for (const k of calm.kinds) assert.equal(k.errors.total, 0, `${k.kind} after the restart: ${JSON.stringify(k.errors.distinct)}`);
    for (const k of [...during.kinds, ...calm.kinds]) assert.ok(k.completed > 0, `${k.kind} completed nothing`);
    const all = nginx.sessions();
    assert.ok(both(all.slice(sessionsBefore, afterMark)), 'both replicas served the load');
    assert.ok(servedBy(all.slice(afterMark)).has(replica(0)), 'the restarted replica serves again');

    // What was received is right: sampled certificates chain to the root and name what was asked.
    for (const k of [...during.kinds, ...calm.kinds]) assert.deepEqual(k.verify().failures, [], k.kind);

    // Every certificate a client received is in the ledger, exactly once.
    const received = [...during.serials, ...calm.serials, ...finished.map((f) => f.serial)];
    const ledger = await awaitLedger(
      received,
      async () => (await db.query<{ serial: string }>('SELECT serial FROM certificates')).map((r) => r.serial),
      performance.now(),
      60_000,
    );
    assert.deepEqual(ledger.missing, [], `certificates missing from the ledger (${ledger.received} received)`);
    const doubled = await db.query('SELECT serial FROM certificates GROUP BY serial HAVING count(*) > 1');
    assert.deepEqual(doubled, []);
    // Certificates whose reply was lost with the killed replica may be in the ledger too: that is
    // an issued certificate with its record, never a record missing.
    assert.ok(ledger.rows >= new Set(received.map(normalizeSerial)).size);
    const counts = (r: DriveResult) => r.kinds.map((k) => `${k.kind} ${k.completed}`).join(', ');
    t.diagnostic(`under the kill: ${counts(during)}; ${errorCount} requests lost with the replica's connections`);
    t.diagnostic(`after the restart: ${counts(calm)}, no errors; ACME orders begun on replica 0 and finished on 1: ${finished.length}`);
    t.diagnostic(
      `ledger: all ${ledger.received} certificates received are recorded once (${ledger.rows} rows), ${ledger.lagSeconds?.toFixed(1)} s after the load`,
    );
  });
});

interface BegunOrder {
  finish(): Promise<{ status: string; serial: string }>;
}

/**
 * Orders taken up to `ready` (authorization validated) with every connection going to one
 * replica; `finish` completes them through the balancer with an ordinary client.
 */
async function beginOrdersOn(replicaPort: number, lb: URL, count: number): Promise<BegunOrder[]> {
  const c = await new RawAcmeClient(`${lb.origin}/acme/directory`, rootPem, await newAccountKey()).init();
  const pinned = buildConnector({ ca: rootPem });
  const toLb = c.dispatcher;
  c.dispatcher = new Agent({ connect: (opts, cb) => pinned({ ...opts, port: String(replicaPort) }, cb) });
  const eab = await createEab({ origin: lb.origin, rootPem, adminToken: ADMIN }, 'b0');
  assert.equal((await c.newAccount(eab)).status, 201);
  const begun: { orderUrl: string; finalize: string; host: string }[] = [];
  for (let i = 0; i < count; i++) {
    const host = `begun${i}-${randomBytes(3).toString('hex')}.b0.vm.${TRUST_DOMAIN}`;
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
    assert.equal(o.status, 201, o.text);
    const authzUrl = (o.json!.authorizations as string[])[0]!;
    const ch = ((await c.post(authzUrl, '')).json!.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'http-01')!;
    responder.publish(ch.token, c.keyAuthorization(ch.token));
    await c.post(ch.url, {});
    await eventually('authorization valid', async () => (await c.post(authzUrl, '')).json!.status === 'valid');
    begun.push({ orderUrl: o.location!, finalize: o.json!.finalize as string, host });
  }
  const onReplica = c.dispatcher;
  return begun.map((b) => ({
    async finish() {
      if (c.dispatcher === onReplica) {
        c.dispatcher = toLb;
        await onReplica.close();
      }
      const csr = buildCsr({ extensions: [sanExtension({ dns: [b.host] })] }).der.toString('base64url');
      let order = (await c.post(b.finalize, { csr })).json!;
      if (order.status === 'processing')
        await eventually(
          'the order to leave processing',
          async () => (order = (await c.post(b.orderUrl, '')).json!).status !== 'processing',
          30_000,
          50,
        );
      if (order.status !== 'valid') return { status: String(order.status), serial: '' };
      const chain = (await c.post(order.certificate as string, '')).text;
      return { status: 'valid', serial: new X509Certificate(chain).serialNumber };
    },
  }));
}
