// Stateless replicas: two `serve` processes in production mode on one Postgres and one Redis,
// behind a round-robin TCP balancer that gives every request a new connection, so consecutive
// requests of one order land on different replicas. Nothing a replica keeps in memory can help.
// Revocation end to end: for each path (ACME, API, EST, an operator's prefix), revoked through
// replica A, refused by replica B within a second, with its event in the ledger.

import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { RawAcmeClient, completeOrder, newAccountKey } from '../support/acme-client.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { buildCsr, sanExtension, testKey } from '../support/csr.js';
import { revokeWithOwnKey } from '../support/revocation.js';
import { createDatabase, freePort, startRedis, startRelay, type Relay, type TestDatabase, type TestRedis } from '../support/infra.js';
import { CLI, https, startCli, startServer, type TestProcess, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';
import { pkcs7Certificates } from '../support/est.js';
import { scratchDir } from '../support/scratch.js';

const ADMIN = `admin-${randomBytes(8).toString('hex')}`;
const TD = 'workload-ca.test';
let db: TestDatabase;
let redis: TestRedis;
let dns: DnsServer;
let responder: Server;
let replicas: TestServer[] = [];
let worker: TestProcess;
let lb: Relay;
const tokens = new Map<string, string>();

async function client(): Promise<RawAcmeClient> {
  const r = await https(replicas[0]!, 'POST', '/v1/admin/acme/eab-keys', {
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ binding: 'web' }),
  });
  assert.equal(r.status, 201, r.body);
  const c = await new RawAcmeClient(`https://127.0.0.1:${lb.port}/acme/directory`, replicas[0]!.rootPem, await newAccountKey(), 4, true).init();
  assert.equal((await c.newAccount(JSON.parse(r.body) as { keyId: string; hmacKey: string })).status, 201);
  return c;
}

/** Answers the order's one http-01 challenge, waits for its authorization, and returns a CSR for it. */
async function validate(c: RawAcmeClient, order: { json: Record<string, unknown> | null }, host: string): Promise<string> {
  const authzUrl = (order.json!.authorizations as string[])[0]!;
  const ch = ((await c.post(authzUrl, '')).json!.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'http-01')!;
  tokens.set(ch.token, c.keyAuthorization(ch.token));
  await c.post(ch.url, {});
  await eventually('authorization valid', async () => (await c.post(authzUrl, '')).json!.status === 'valid');
  return buildCsr({ extensions: [sanExtension({ dns: [host] })] }).der.toString('base64url');
}

before(async () => {
  db = await createDatabase();
  redis = await startRedis();
  dns = await startDnsServer();
  const http01 = await freePort();
  responder = createServer((req, res) => {
    const ka = tokens.get((req.url ?? '').split('/').pop() ?? '');
    res.writeHead(ka ? 200 : 404).end(ka ?? '');
  });
  await new Promise<void>((r) => responder.listen(http01, '127.0.0.1', r));
  const bootstrap = await startServer({ workers: 1 });
  await bootstrap.stop();
  // The default policy has no EST rule: devices bootstrap with a password, then renew themselves.
  appendFileSync(
    join(bootstrap.dataDir, 'policy.yaml'),
    `  - name: est-bootstrap
    match: { paths: [est], est: { auth: [basic] } }
    grant: { spiffeId: 'spiffe://{trustDomain}/device/{requester.name}', defaultLifetime: 1h }
  - name: est-renewal
    match: { paths: [est], est: { auth: [svid] } }
    grant: { spiffeId: '{requester.spiffeId}', defaultLifetime: 1h }
`,
  );
  const env = {
    DATABASE_URL: db.url(),
    REDIS_URL: redis.url,
    // The development CA's key file is not encrypted; production refuses that unless told.
    WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY: 'true',
    WORKLOAD_CA_REDIS_PREFIX: `wlca-acme-${randomBytes(4).toString('hex')}`,
    WORKLOAD_CA_ADMIN_TOKEN: ADMIN,
    WORKLOAD_CA_ACME_HTTP01_PORT: String(http01),
    WORKLOAD_CA_ACME_RESOLVER: dns.address,
    // The responder is on loopback, which validation refuses unless it is allowed.
    WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '127.0.0.0/8',
    // Tokens for the API path, from the development issuer the bootstrap created.
    WORKLOAD_CA_DEV_TOKEN_ISSUER: 'true',
  };
  replicas = [await startServer({ workers: 1, dataDir: bootstrap.dataDir, env }), await startServer({ workers: 1, dataDir: bootstrap.dataDir, env })];
  worker = await startCli(['worker'], { ...replicas[0]!.env, WORKLOAD_CA_WORKER_METRICS_PORT: '0' }, /ledger worker running/);
  lb = await startRelay(replicas.map((r) => r.port));
});

after(async () => {
  await lb?.close();
  await worker?.stop();
  for (const r of replicas) await r.stop();
  await new Promise((r) => responder?.close(r));
  await dns?.close();
  await redis?.stop();
  await db?.drop();
});

describe('ACME across two replicas', () => {
  it('completes orders whose requests alternate between replicas, and the ledger gets each certificate once', async () => {
    const before = [...lb.connections];
    const serials: string[] = [];
    await Promise.all(
      [1, 2, 3].map(async (i) => {
        const c = await client();
        const host = `multi${i}.web.vm.${TD}`;
        const r = await completeOrder(c, [host], buildCsr({ extensions: [sanExtension({ dns: [host] })] }).der, (t, ka) => tokens.set(t, ka));
        serials.push(new X509Certificate(r.chainPem).serialNumber.toLowerCase());
        await c.close();
      }),
    );
    const used = lb.connections.map((n, i) => n - before[i]!);
    assert.ok(
      used.every((n) => n >= 10),
      `both replicas served many requests: ${used.join(', ')}`,
    );
    await eventually('ledger rows', async () => (await db.query('SELECT serial FROM certificates WHERE path = $1', ['acme'])).length >= 3);
    const rows = await db.query<{ serial: string }>('SELECT serial FROM certificates WHERE path = $1', ['acme']);
    assert.deepEqual(rows.map((r) => r.serial).sort(), serials.sort());
  });

  it('concurrent finalize on different replicas issues one certificate and one ledger row', async () => {
    const c = await client();
    const host = `race.web.vm.${TD}`;
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
    const csr = await validate(c, o, host);
    const results = await Promise.all([1, 2, 3, 4].map(() => c.post(o.json!.finalize as string, { csr })));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.json!.type, 'urn:ietf:params:acme:error:orderNotReady');
    await eventually(
      'the ledger row',
      async () => (await db.query('SELECT 1 FROM certificates WHERE spiffe_id = $1', [`spiffe://${TD}/vm/web/${host}`])).length === 1,
    );
    // Every finalize has been answered, so a certificate any of them signed is in the audit queue
    // by now; once the queue is empty, no second row can still be on its way.
    await eventually('the audit queue drained', async () =>
      /^workload_ca_audit_queue_depth 0$/m.test((await https(replicas[0]!, 'GET', '/metrics')).body),
    );
    assert.equal((await db.query('SELECT 1 FROM certificates WHERE spiffe_id = $1', [`spiffe://${TD}/vm/web/${host}`])).length, 1);
    assert.equal((await db.query('SELECT 1 FROM acme_certificates')).length, 4);
    await c.close();
  });

  // A replica that dies mid-finalize leaves its order `processing`. Killing one at the right
  // instant cannot be timed, so the tests leave the rows exactly as such a death would, then poll.
  const orderIdOf = (url: string): string => url.split('/').pop()!;
  const stuck = (id: string, since: string): Promise<unknown> =>
    db.query(`UPDATE acme_orders SET status = 'processing', certificate_serial = NULL, processing_since = now() - $2::interval WHERE id = $1`, [
      id,
      since,
    ]);
  const pollAll = async (c: RawAcmeClient, url: string): Promise<Record<string, unknown>[]> =>
    (await Promise.all([1, 2, 3, 4].map(() => c.post(url, '')))).map((r) => {
      assert.equal(r.status, 200, r.text);
      return r.json!;
    });

  it('an order left processing after its certificate was issued completes with that certificate, once, when polled after the timeout', async () => {
    const c = await client();
    const host = `died-signed.web.vm.${TD}`;
    const done = await completeOrder(c, [host], buildCsr({ extensions: [sanExtension({ dns: [host] })] }).der, (t, ka) => tokens.set(t, ka));
    const id = orderIdOf(done.orderUrl);
    const serial = new X509Certificate(done.chainPem).serialNumber.toLowerCase();
    // The audit event names the order: that is how the certificate is found again.
    await eventually('the ledger row', async () => (await db.query('SELECT 1 FROM certificates WHERE serial = $1', [serial])).length === 1);
    assert.deepEqual(await db.query(`SELECT requester->>'orderId' AS o FROM certificates WHERE serial = $1`, [serial]), [{ o: id }]);
    // Issued and recorded in the ledger, but the order never marked valid.
    await db.query('DELETE FROM acme_certificates WHERE order_id = $1', [id]);

    // Within the timeout the finalizing replica may still be alive: the order is left alone.
    await stuck(id, '1 second');
    assert.deepEqual(
      (await pollAll(c, done.orderUrl)).map((o) => o.status),
      ['processing', 'processing', 'processing', 'processing'],
    );

    await stuck(id, '5 minutes');
    const polled = await pollAll(c, done.orderUrl);
    assert.deepEqual(
      polled.map((o) => o.status),
      ['valid', 'valid', 'valid', 'valid'],
    );
    assert.equal(new Set(polled.map((o) => o.certificate)).size, 1);
    const chain = await c.post(polled[0]!.certificate as string, '');
    assert.equal(chain.status, 200, chain.text);
    assert.equal(chain.text, done.chainPem, 'the same certificate, chained as finalize chains it');
    assert.equal((await db.query('SELECT 1 FROM acme_certificates WHERE order_id = $1', [id])).length, 1);
    assert.equal((await db.query(`SELECT 1 FROM certificates WHERE requester->>'orderId' = $1`, [id])).length, 1, 'nothing issued twice');
    await c.close();
  });

  it('an order left processing with nothing issued is ready again after the timeout, and finalizes once', async () => {
    const c = await client();
    const host = `died-unsigned.web.vm.${TD}`;
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
    const url = o.location!;
    const id = orderIdOf(url);
    const csr = await validate(c, o, host);

    await stuck(id, '1 second');
    assert.deepEqual(
      (await pollAll(c, url)).map((x) => x.status),
      ['processing', 'processing', 'processing', 'processing'],
    );
    const early = await c.post(o.json!.finalize as string, { csr });
    assert.equal(early.json!.type, 'urn:ietf:params:acme:error:orderNotReady', early.text);

    await stuck(id, '5 minutes');
    assert.deepEqual(
      (await pollAll(c, url)).map((x) => x.status),
      ['ready', 'ready', 'ready', 'ready'],
    );
    const fin = await c.post(o.json!.finalize as string, { csr });
    assert.equal(fin.status, 200, fin.text);
    assert.equal(fin.json!.status, 'valid');
    await eventually(
      'the ledger row',
      async () => (await db.query(`SELECT 1 FROM certificates WHERE requester->>'orderId' = $1`, [id])).length === 1,
    );
    await c.close();
  });

  it('a nonce from one replica is spent once across both', async () => {
    const c = await client();
    const nonce = await c.nonce();
    const payload = { identifiers: [{ type: 'dns', value: `n.web.vm.${TD}` }] };
    const [a, b] = await Promise.all([c.post(c.directory.newOrder!, payload, { nonce }), c.post(c.directory.newOrder!, payload, { nonce })]);
    assert.deepEqual([a.status, b.status].sort(), [201, 400]);
    await c.close();
  });
});

describe('revocation across two replicas', () => {
  it('a certificate revoked through one replica is refused by the other within a second, with a denial', async () => {
    const c = await client();
    const host = `revoked.web.vm.${TD}`;
    const key = testKey('p256');
    const r = await completeOrder(c, [host], buildCsr({ key, extensions: [sanExtension({ dns: [host] })] }).der, (t, ka) => tokens.set(t, ka));
    await c.close();
    const leaf = new X509Certificate(r.chainPem);
    const tls = { cert: r.chainPem, key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
    // Straight to replica B, a new connection each time.
    const renew = () =>
      https(replicas[1]!, 'POST', '/v1/svids', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csr: buildCsr().pem }),
        ...tls,
      });
    const before = await renew();
    assert.notEqual(before.status, 401, `the certificate authenticates before it is revoked: ${before.body}`);

    assert.equal(await revokeWithOwnKey(replicas[0]!, leaf.toString(), key.privateKey), 200);
    // Well inside the 30 s reconcile: only the pub/sub message can make this come true in time.
    await eventually('replica B refuses the revoked certificate', async () => (await renew()).status === 401, 1_000, 50);
    const refused = await renew();
    assert.match(refused.json().detail, /client certificate is revoked/);
    const serial = leaf.serialNumber.toLowerCase();
    await eventually(
      'a denial row',
      async () => (await db.query(`SELECT 1 FROM denials WHERE reason LIKE '%revoked%' AND requester_id LIKE $1`, [`%${serial}%`])).length >= 1,
    );
    await revocationEvent(serial, { kind: 'certificate-key' }, { serial });
    await crlOnBLists(serial);
  });

  it('API: an SVID revoked by serial through replica A cannot renew on replica B within a second', async () => {
    const { serial, tls } = await svid('e2eapi', 'one');
    const renew = (): Promise<number> => renewOn(replicas[1]!, tls);
    assert.equal(await renew(), 201, 'renews before it is revoked');
    const r = await admin(replicas[0]!, { serial, reason: 1, requestedBy: 'e2e api' });
    assert.deepEqual(r.serials, [serial]);
    await eventually('replica B refuses the revoked SVID', async () => (await renew()) === 401, 1_000, 50);
    await revocationEvent(serial, { kind: 'operator', requestedBy: 'e2e api' }, { serial }, 1);
    await crlOnBLists(serial);
  });

  it('admin revoke by prefix through replica A: every SVID of the namespace is refused on B within a second, a neighbour still renews', async () => {
    const [a, b, outside] = await Promise.all([svid('e2eprefix', 'one'), svid('e2eprefix', 'two'), svid('e2eprefixx', 'one')]);
    const prefix = `spiffe://${TD}/ns/e2eprefix/`;
    const r = await admin(replicas[0]!, { spiffeIdPrefix: prefix, reason: 4 });
    assert.deepEqual([...r.serials].sort(), [a.serial, b.serial].sort());
    await eventually(
      'replica B refuses both',
      async () => (await renewOn(replicas[1]!, a.tls)) === 401 && (await renewOn(replicas[1]!, b.tls)) === 401,
      1_000,
      50,
    );
    assert.equal(await renewOn(replicas[1]!, outside.tls), 201, 'outside the prefix');
    for (const s of [a.serial, b.serial]) await revocationEvent(s, { kind: 'operator' }, { spiffeIdPrefix: prefix }, 4);
    for (const s of [a.serial, b.serial]) await crlOnBLists(s);
  });

  it('EST: everything a Basic user enrolled, revoked by requester through replica A, cannot reenroll on replica B within a second', async () => {
    const user = 'e2e-sensor';
    const password = randomBytes(12).toString('hex');
    const add = spawnSync(process.execPath, [...CLI, 'est', 'user', 'add', user], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...replicas[0]!.env, WORKLOAD_CA_EST_PASSWORD: password },
      encoding: 'utf8',
    });
    assert.equal(add.status, 0, add.stderr);
    const key = testKey('p256');
    const est = (server: TestServer, op: string, auth: { basic?: string; tls?: { cert: string; key: string } }, csr = buildCsr({ key })) =>
      https(server, 'POST', `/.well-known/est/${op}`, {
        headers: {
          'content-type': 'application/pkcs10',
          ...(auth.basic !== undefined && { authorization: `Basic ${Buffer.from(auth.basic).toString('base64')}` }),
        },
        body: csr.der.toString('base64'),
        ...auth.tls,
      });
    // Replica B reads the users file as A does (both mount the same data directory).
    const enrolled = await est(replicas[0]!, 'simpleenroll', { basic: `${user}:${password}` });
    assert.equal(enrolled.status, 200, enrolled.body);
    const scratch = scratchDir('wlca-e2e-est-');
    const leaf = new X509Certificate(pkcs7Certificates(scratch, enrolled.body)[0]!);
    const serial = leaf.serialNumber.toLowerCase();
    const tls = { cert: leaf.toString(), key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
    // Reenroll keeps the SAN the certificate has.
    const sameName = buildCsr({ key, extensions: [sanExtension({ uris: [leaf.subjectAltName!.replace(/^URI:/, '')] })] });
    const reenroll = async (): Promise<number> => (await est(replicas[1]!, 'simplereenroll', { tls }, sameName)).status;
    assert.equal(await reenroll(), 200, 'reenrolls before it is revoked');

    await eventually(
      'the ledger rows',
      async () => (await db.query(`SELECT 1 FROM certificates WHERE serial = $1 AND requester_id = $2`, [serial, user])).length === 1,
    );
    const r = await admin(replicas[0]!, { requester: { kind: 'est-client', id: user } });
    assert.ok(r.serials.includes(serial), JSON.stringify(r));
    await eventually('replica B refuses the revoked certificate', async () => (await reenroll()) === 401, 1_000, 50);
    await revocationEvent(serial, { kind: 'operator' }, { requester: { kind: 'est-client', id: user } });
    await crlOnBLists(serial);
  });
});

/** A fresh SVID from replica A for ns/sa, through a development token, and the TLS credentials to renew with it. */
async function svid(ns: string, sa: string): Promise<{ serial: string; tls: { cert: string; key: string } }> {
  const t = await replicas[0]!.cli(['token', '--namespace', ns, '--service-account', sa]);
  assert.equal(t.code, 0, t.stderr);
  const key = testKey('p256');
  const res = await https(replicas[0]!, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.stdout.trim()}` },
    body: JSON.stringify({ csr: buildCsr({ key }).pem }),
  });
  assert.equal(res.status, 201, res.body);
  const serial: string = res.json().serial;
  await eventually('the ledger row', async () => (await db.query('SELECT 1 FROM certificates WHERE serial = $1', [serial])).length === 1);
  return {
    serial,
    tls: { cert: res.json().certificate + res.json().chain, key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
  };
}

/**
 * Replica A signed the CRL, or B did, whichever took the lock; B serves one listing the serial
 * within seconds. Read with openssl, as a relying party would.
 */
async function crlOnBLists(serialHex: string): Promise<void> {
  const want = serialHex.toUpperCase().replace(/^0+/, '');
  await eventually(
    "replica B's CRL lists the revoked certificate",
    async () => {
      const crl = await https(replicas[1]!, 'GET', '/crl/active.crl');
      if (crl.status !== 200) return false;
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: crl.raw, encoding: 'utf8' });
      return text.split('\n').some(
        (line) =>
          line
            .trim()
            .replace(/^Serial Number: /, '')
            .replace(/^0+/, '') === want,
      );
    },
    6_000,
    100,
  );
}

/** mTLS renewal on one replica, on a new connection; the status. */
async function renewOn(server: TestServer, tls: { cert: string; key: string }): Promise<number> {
  const res = await https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ csr: buildCsr().pem }),
    ...tls,
  });
  return res.status;
}

async function admin(server: TestServer, body: Record<string, unknown>): Promise<{ revoked: number; serials: string[]; eventId: string }> {
  const r = await https(server, 'POST', '/v1/admin/revocations', {
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** The ledger's revocation event for this serial: who, which selector, why. */
async function revocationEvent(serial: string, by: Record<string, unknown>, selector: Record<string, unknown>, reason?: number): Promise<void> {
  const rows = await db.query<{ revoked_by: Record<string, unknown>; selector: Record<string, unknown>; reason: number; certificate_count: number }>(
    `SELECT e.revoked_by, e.selector, e.reason, e.certificate_count FROM revocation_events e JOIN revocations r USING (event_id) WHERE r.serial = $1`,
    [serial],
  );
  assert.equal(rows.length, 1, `one event for ${serial}`);
  const e = rows[0]!;
  for (const [k, v] of Object.entries(by)) assert.deepEqual(e.revoked_by[k], v, `revoked_by.${k}`);
  assert.deepEqual(e.selector, selector);
  if (reason !== undefined) assert.equal(e.reason, reason);
  assert.ok(e.certificate_count >= 1);
}
