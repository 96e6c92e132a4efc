// The issuance API end to end: the real CLI serving real HTTPS (two cluster workers), real
// tokens from the development issuer, certificates checked with openssl, renewal over mTLS,
// every denial, and the embedded ledger read back after the server stops.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { openEmbeddedLedger } from '../../src/ledger/pglite.js';
import { buildCsr, caRequestExtension, keyCertSignExtension, sanExtension, testKey } from '../support/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';
import { renewOverKeepAlive, revokeWithOwnKey, revokedDenials } from '../support/revocation.js';
import { scratchDir } from '../support/scratch.js';

const TD = 'workload-ca.test';
let server: TestServer;
let token: string;
const work = scratchDir('wlca-api-');
const issuedSerials: string[] = [];

async function mint(ns: string, sa: string, ttl = 600): Promise<string> {
  const r = await server.cli(['token', '--namespace', ns, '--service-account', sa, '--ttl', String(ttl)]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

function issue(body: unknown, headers: Record<string, string> = {}, tls: { cert?: string; key?: string } = {}) {
  return https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...tls,
  });
}

function openssl(args: string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

before(async () => {
  server = await startServer({ workers: 2 });
  token = await mint('payments', 'api');
});

after(async () => {
  await server?.stop();
  removeDataDir(work);
  if (server) removeDataDir(server.dataDir);
});

describe('issuance with a service-account token', () => {
  test('201 with an X509-SVID that openssl verifies against the root and the chain', async () => {
    const csr = buildCsr();
    const res = await issue({ csr: csr.pem }, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 201, res.body);
    const body = res.json();
    assert.equal(body.spiffe_id, `spiffe://${TD}/ns/payments/sa/api`);
    assert.match(body.serial, /^[0-7][0-9a-f]{31}$/);
    issuedSerials.push(body.serial);

    writeFileSync(join(work, 'leaf.pem'), body.certificate);
    writeFileSync(join(work, 'chain.pem'), body.chain);
    writeFileSync(join(work, 'root.pem'), server.rootPem);
    assert.match(openssl(['verify', '-CAfile', join(work, 'root.pem'), '-untrusted', join(work, 'chain.pem'), join(work, 'leaf.pem')]), /OK/);

    const text = openssl(['x509', '-in', join(work, 'leaf.pem'), '-noout', '-text']);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, /Subject Key Identifier/);
    assert.match(text, /Authority Key Identifier/);
    const sans = /X509v3 Subject Alternative Name: critical\s+(.*)\n/.exec(text)![1]!;
    assert.equal(sans, `URI:spiffe://${TD}/ns/payments/sa/api`);

    const leaf = new X509Certificate(body.certificate);
    assert.equal(leaf.serialNumber.length, 32);
    const age = Date.now() - Date.parse(leaf.validFrom);
    assert.ok(age >= 0 && age <= 30_000, `notBefore is ${age} ms in the past`);
    assert.equal(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), (3600 + 5) * 1000, 'default lifetime 1h, backdated 5s');
    assert.equal(body.expires_at, new Date(leaf.validTo).toISOString());
    assert.ok(leaf.checkPrivateKey(csr.key));
    // The chain is the issuing CA, not the root.
    assert.ok(!new X509Certificate(body.chain).checkIssued(new X509Certificate(body.chain)));
  });

  test('a CSR asking for cA=true and keyCertSign still gets a cA=false leaf', async () => {
    const res = await issue({ csr: buildCsr({ extensions: [caRequestExtension, keyCertSignExtension] }).pem }, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 201, res.body);
    issuedSerials.push(res.json().serial);
    const leaf = new X509Certificate(res.json().certificate);
    assert.equal(leaf.ca, false);
    const text = openssl(['x509', '-noout', '-ext', 'keyUsage,basicConstraints'], res.json().certificate);
    assert.match(text, /CA:FALSE/);
    assert.doesNotMatch(text, /Certificate Sign/);
  });

  test('ttl within the rule maximum is honoured; PEM chain on request', async () => {
    const res = await issue({ csr: buildCsr().pem, ttl: 600 }, { authorization: `Bearer ${token}`, accept: 'application/pem-certificate-chain' });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers['content-type'], 'application/pem-certificate-chain');
    const certs = res.body.match(/BEGIN CERTIFICATE/g) ?? [];
    assert.equal(certs.length, 2);
    const leaf = new X509Certificate(res.body);
    issuedSerials.push(leaf.serialNumber.toLowerCase());
    assert.equal(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), (600 + 5) * 1000);
  });

  test('curl with the root CA as its only trust anchor', async () => {
    const csr = buildCsr();
    writeFileSync(join(work, 'curl.json'), JSON.stringify({ csr: csr.pem }));
    const out = execFileSync(
      'curl',
      [
        '-sS',
        '--cacert',
        server.rootFile,
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        `@${join(work, 'curl.json')}`,
        '-w',
        '\n%{http_code}',
        `${server.url}/v1/svids`,
      ],
      { encoding: 'utf8' },
    );
    const [json, code] = out.trimEnd().split('\n');
    assert.equal(code, '201');
    issuedSerials.push(JSON.parse(json!).serial);
  });
});

describe('renewal over mTLS with a current SVID', () => {
  test('a workload renews its own SPIFFE ID and only that', async () => {
    const key = testKey('p256');
    const first = await issue({ csr: buildCsr({ key }).pem }, { authorization: `Bearer ${token}` });
    assert.equal(first.status, 201);
    issuedSerials.push(first.json().serial);
    const tls = { cert: first.json().certificate + first.json().chain, key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };

    const renewed = await issue({ csr: buildCsr().pem }, {}, tls);
    assert.equal(renewed.status, 201, renewed.body);
    assert.equal(renewed.json().spiffe_id, `spiffe://${TD}/ns/payments/sa/api`);
    issuedSerials.push(renewed.json().serial);

    const other = await issue({ csr: buildCsr({ extensions: [sanExtension({ uris: [`spiffe://${TD}/ns/payments/sa/admin`] })] }).pem }, {}, tls);
    assert.equal(other.status, 403, other.body);
    assert.equal(other.json().type, 'urn:workload-ca:problem:identity-not-allowed');
    assert.equal(other.json().rule, 'svid-renewal');
  });

  test("the CA's own HTTPS certificate is not a workload identity", async () => {
    const res = await issue(
      { csr: buildCsr().pem },
      {},
      {
        cert: readFileSync(join(server.dataDir, 'tls/server.pem'), 'utf8'),
        key: readFileSync(join(server.dataDir, 'tls/server.key'), 'utf8'),
      },
    );
    assert.equal(res.status, 401, res.body);
    assert.match(res.json().detail, /not for client authentication/);
    const text = openssl(['x509', '-in', join(server.dataDir, 'tls/server.pem'), '-noout', '-text']);
    assert.doesNotMatch(text, /URI:/);
    assert.doesNotMatch(text, /Client Authentication/);
  });

  test('a client certificate from another CA is not an identity', async () => {
    writeFileSync(
      join(work, 'foreign.key'),
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      join(work, 'foreign.key'),
      '-subj',
      '/CN=foreign',
      '-days',
      '1',
      '-out',
      join(work, 'foreign.pem'),
      '-addext',
      `subjectAltName=URI:spiffe://${TD}/ns/payments/sa/api`,
    ]);
    const res = await issue(
      { csr: buildCsr().pem },
      {},
      { cert: readFileSync(join(work, 'foreign.pem'), 'utf8'), key: readFileSync(join(work, 'foreign.key'), 'utf8') },
    );
    assert.equal(res.status, 401);
    assert.match(res.json().detail, /not issued by this CA/);
  });
});

describe('a revoked SVID authenticates nowhere', () => {
  test('revoked through ACME with its own key: mTLS renewal is 401 with a denial, on an open keep-alive connection and a new one', async () => {
    const key = testKey('p256');
    const first = await issue({ csr: buildCsr({ key }).pem }, { authorization: `Bearer ${token}` });
    assert.equal(first.status, 201, first.body);
    issuedSerials.push(first.json().serial);
    const tls = { cert: first.json().certificate + first.json().chain, key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };

    // One keep-alive connection, bound to one of the two workers, authenticated before the revocation.
    const open = renewOverKeepAlive(server, tls);
    const renewed = await open.post('/v1/svids', JSON.stringify({ csr: buildCsr().pem }), 'application/json');
    assert.equal(renewed.status, 201, renewed.body);
    issuedSerials.push(JSON.parse(renewed.body).serial);

    // Through ACME on new connections: either worker may take it; the primary pushes it to both.
    assert.equal(await revokeWithOwnKey(server, first.json().certificate, key.privateKey), 200);

    const again = await open.post('/v1/svids', JSON.stringify({ csr: buildCsr().pem }), 'application/json');
    assert.equal(again.socket, renewed.socket, 'the same connection');
    assert.equal(again.status, 401, again.body);
    assert.match(JSON.parse(again.body).detail, /revoked/);
    open.close();
    for (let i = 0; i < 2; i++) {
      const fresh = await issue({ csr: buildCsr().pem }, {}, tls);
      assert.equal(fresh.status, 401, fresh.body);
      assert.match(fresh.json().detail, /client certificate is revoked/);
    }
    const serial = new X509Certificate(first.json().certificate).serialNumber.toLowerCase();
    const headers = { authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}` };
    await eventually('a denial row names the revoked certificate', async () => (await revokedDenials(server, headers, serial)) >= 1, 10_000);
  });
});

describe('operators revoke through the admin API and the CLI', () => {
  const admin = () => ({ authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}` });
  const revoke = (body: unknown, headers: Record<string, string> = admin()) =>
    https(server, 'POST', '/v1/admin/revocations', { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  /** The newest revocation events. */
  const events = async (): Promise<{ event_id: string }[]> => {
    const res = await https(server, 'GET', '/v1/admin/revocations?limit=20', { headers: admin() });
    assert.equal(res.status, 200, res.body);
    return res.json().items;
  };

  /** A fresh SVID for ns/sa and the TLS credentials to renew with it. */
  async function svid(ns: string, sa: string, bearer?: string): Promise<{ serial: string; tls: { cert: string; key: string } }> {
    const key = testKey('p256');
    const res = await issue({ csr: buildCsr({ key }).pem }, { authorization: `Bearer ${bearer ?? (await mint(ns, sa))}` });
    assert.equal(res.status, 201, res.body);
    issuedSerials.push(res.json().serial);
    return {
      serial: res.json().serial,
      tls: { cert: res.json().certificate + res.json().chain, key: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
    };
  }

  async function renews(tls: { cert: string; key: string }): Promise<number> {
    const res = await issue({ csr: buildCsr().pem }, {}, tls);
    if (res.status === 201) issuedSerials.push(res.json().serial);
    return res.status;
  }

  test('by prefix (CLI, with a dry run first): the namespace is refused, a neighbour whose name shares the text still renews', async () => {
    // Each token is a CLI run: mint them side by side.
    const [a, b, outside] = await Promise.all([svid('ledgerops', 'one'), svid('ledgerops', 'two'), svid('ledgeropsx', 'one')]);

    const eventsBefore = await events();
    const dry = await server.cli(['revoke', '--prefix', `spiffe://${TD}/ns/ledgerops/`, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would revoke 2 certificate/);
    assert.equal(await renews(a.tls), 201, 'a dry run revokes nothing');
    assert.deepEqual(await events(), eventsBefore, 'a dry run records no event');

    const r = await server.cli(['revoke', '--prefix', `spiffe://${TD}/ns/ledgerops/`, '--reason', '1', '--requested-by', 'incident 42']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked 3 certificate\(s\) \(revocation event [0-9a-f-]{36}\)/);
    // The renewal above minted a third live certificate under the prefix: all are revoked.
    assert.ok(r.stdout.includes(a.serial) && r.stdout.includes(b.serial), r.stdout);
    assert.ok(!r.stdout.includes(outside.serial), r.stdout);

    // Two workers: each renewal may land on either, and the primary has pushed to both.
    for (let i = 0; i < 2; i++) {
      assert.equal(await renews(a.tls), 401);
      assert.equal(await renews(b.tls), 401);
    }
    assert.equal(await renews(outside.tls), 201, 'outside the prefix');

    const detail = await https(server, 'GET', `/v1/admin/certificates/${a.serial}`, { headers: admin() });
    assert.equal(detail.status, 200, detail.body);
    const revocation = detail.json()[0].revocation;
    const operator = { kind: 'operator', via: 'admin-api', requestedBy: 'incident 42', client: '127.0.0.1' };
    assert.equal(revocation.reason, 1);
    assert.deepEqual(revocation.revoked_by, operator);
    assert.equal(detail.json()[0].status, 'revoked');

    // The event: who, when, why, by which selector, and exactly the certificates revoked.
    const eventId = /revocation event ([0-9a-f-]{36})/.exec(r.stdout)![1]!;
    assert.equal(revocation.event_id, eventId);
    assert.equal((await events())[0]!.event_id, eventId);
    const event = await https(server, 'GET', `/v1/admin/revocations/${eventId}`, { headers: admin() });
    assert.equal(event.status, 200, event.body);
    const e = event.json();
    assert.deepEqual([e.reason, e.revoked_by, e.selector, e.certificate_count], [1, operator, { spiffeIdPrefix: `spiffe://${TD}/ns/ledgerops/` }, 3]);
    assert.ok(Math.abs(Date.parse(e.at) - Date.now()) < 60_000, e.at);
    const revokedSerials = r.stdout.split('\n').filter((l) => /^[0-9a-f]{32}$/.test(l));
    assert.deepEqual(e.certificates.map((c: { serial: string }) => c.serial).sort(), revokedSerials.sort());
    assert.ok(e.certificates.every((c: { spiffe_id: string }) => c.spiffe_id.startsWith(`spiffe://${TD}/ns/ledgerops/sa/`)));

    // The inventory: revoked certificates are not live, in lists and in the counts.
    const list = async (query: string) => {
      const res = await https(server, 'GET', `/v1/admin/certificates?${query}`, { headers: admin() });
      assert.equal(res.status, 200, res.body);
      return res.json().items as { serial: string; status: string; revocation: { event_id: string } | null }[];
    };
    const prefix = `spiffe_id_prefix=spiffe://${TD}/ns/ledgerops/`;
    assert.deepEqual(await list(`${prefix}&status=live`), [], 'nothing revoked is live');
    const revokedItems = await list(`${prefix}&status=revoked`);
    assert.deepEqual(revokedItems.map((i) => i.serial).sort(), revokedSerials.sort());
    assert.ok(revokedItems.every((i) => i.status === 'revoked' && i.revocation?.event_id === eventId));
    const neighbour = await list(`spiffe_id=spiffe://${TD}/ns/ledgeropsx/sa/one&status=live`);
    assert.deepEqual(
      neighbour.map((i) => [i.status, i.revocation]),
      [
        ['live', null],
        ['live', null],
      ],
      'the neighbour and its renewal',
    );
    const stats = await https(server, 'GET', '/v1/admin/stats/live?group_by=spiffe_id_prefix&depth=2', { headers: admin() });
    const groups = stats.json().groups as { key: string; count: number }[];
    assert.equal(
      groups.find((g) => g.key === `spiffe://${TD}/ns/ledgerops`),
      undefined,
      stats.body,
    );
    assert.equal(groups.find((g) => g.key === `spiffe://${TD}/ns/ledgeropsx`)?.count, 2, stats.body);

    const again = await revoke({ spiffeIdPrefix: `spiffe://${TD}/ns/ledgerops/` });
    assert.equal(again.status, 200, again.body);
    assert.deepEqual(again.json(), { dryRun: false, revoked: 0, eventId: null, serials: [] }, 'already revoked: nothing more to do');
    assert.equal((await events())[0]!.event_id, eventId, 'and no event');
  });

  test('by serial and by exact SPIFFE ID through the API; a dry run answers the count and changes nothing', async () => {
    const [one, two] = await Promise.all([svid('revserial', 'one'), svid('revexact', 'one')]);
    const dry = await revoke({ serial: one.serial, dryRun: true });
    assert.equal(dry.status, 200, dry.body);
    assert.deepEqual(dry.json(), { dryRun: true, revoked: 0, wouldRevoke: 1, serials: [one.serial] });
    assert.equal(await renews(one.tls), 201);

    const res = await revoke({ serial: one.serial.toUpperCase(), reason: 4 });
    assert.equal(res.status, 200, res.body);
    const { eventId, ...rest } = res.json() as { eventId: string };
    assert.deepEqual(rest, { dryRun: false, revoked: 1, serials: [one.serial] });
    assert.match(eventId, /^[0-9a-f-]{36}$/);
    for (let i = 0; i < 2; i++) assert.equal(await renews(one.tls), 401);

    const byId = await revoke({ spiffeId: `spiffe://${TD}/ns/revexact/sa/one` });
    assert.equal(byId.status, 200, byId.body);
    assert.deepEqual(byId.json().serials, [two.serial]);
    assert.equal(await renews(two.tls), 401);
  });

  test('a bad selector or reason is a 400 problem document and revokes nothing; no token is 401', async () => {
    // Nothing here may revoke: the suite's own token and identity are safe to use.
    const live = await svid('payments', 'api', token);
    const bad: unknown[] = [
      {},
      { serial: live.serial, spiffeId: `spiffe://${TD}/ns/payments/sa/api` },
      { spiffeIdPrefix: `spiffe://${TD}/ns/pay` },
      { serial: 'not-hex' },
      { serial: live.serial, reason: 7 },
      { serial: live.serial, reason: 11 },
      { serial: live.serial, reason: '1' },
      { serial: live.serial, everything: true },
      { requester: 'token:x' },
      { requester: { kind: 'gateway', id: 'gw-1' } },
      { requester: { kind: 'svid', id: '' } },
      { requester: { kind: 'svid', id: `spiffe://${TD}/ns/payments/sa/api`, also: 1 } },
      { eabBinding: 'Not_A_Label' },
      { eabKeyId: 'key-1' },
      { eabBinding: 'web', eabKeyId: 'eab_abc' },
    ];
    const eventsBefore = await events();
    for (const body of bad) {
      const res = await revoke(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().type, 'urn:workload-ca:problem:malformed-request');
    }
    const anonymous = await revoke({ serial: live.serial }, {});
    assert.equal(anonymous.status, 401, anonymous.body);
    const wrong = await revoke({ serial: live.serial }, { authorization: 'Bearer not-the-token' });
    assert.equal(wrong.status, 401, wrong.body);

    assert.equal(await renews(live.tls), 201, 'still valid after every refusal');
    assert.deepEqual(await events(), eventsBefore, 'no refusal recorded an event');
    const unknown = await https(server, 'GET', '/v1/admin/revocations/00000000-0000-4000-8000-000000000000', { headers: admin() });
    assert.equal(unknown.status, 404, unknown.body);
    const forged = await https(server, 'GET', '/v1/admin/revocations?cursor=bm90LWEtY3Vyc29y', { headers: admin() });
    assert.equal(forged.status, 400, forged.body);
  });

  test('the CRL lists a revocation within seconds on both workers: openssl verify -crl_check refuses it, accepts a live one; ETag and 304', async () => {
    // The suite's own token: revoking one certificate by serial leaves the identity usable.
    const [live, doomed] = await Promise.all([svid('payments', 'api', token), svid('payments', 'api', token)]);
    const fetchCrl = (path = '/crl/active.crl', headers: Record<string, string> = {}) => https(server, 'GET', path, { headers });
    const crlText = (der: Buffer) => openssl(['crl', '-inform', 'DER', '-noout', '-text'], der);
    const crlNumber = (der: Buffer) => BigInt(`0x${/CRL Number:\s*\n\s*(?:0x)?([0-9A-Fa-f]+)/.exec(crlText(der))![1]}`);
    // 16 random bytes appear in the DER only as that serial; openssl reads the entry below.
    const lists = (der: Buffer, serial: string) => der.includes(Buffer.from(serial, 'hex'));

    const first = await fetchCrl();
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['content-type'], 'application/pkix-crl');
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[0-9a-f]{32}"$/, 'a strong entity tag');
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(String(first.headers['cache-control']))?.[1]);
    assert.ok(maxAge > 0 && maxAge <= 300, String(first.headers['cache-control']));
    const lastModified = String(first.headers['last-modified']);
    assert.equal((await fetchCrl('/crl/active.crl', { 'if-none-match': etag })).status, 304);
    assert.equal((await fetchCrl('/crl/active.crl', { 'if-modified-since': lastModified })).status, 304);
    assert.ok(!lists(first.raw, doomed.serial));

    const res = await revoke({ serial: doomed.serial, reason: 1 });
    assert.equal(res.status, 200, res.body);
    // Each request is a new connection, so the two workers take turns: both must serve the new CRL.
    let latest = first;
    await eventually(
      'the CRL lists the revoked certificate on both workers',
      async () => {
        const seen = await Promise.all([fetchCrl(), fetchCrl(), fetchCrl(), fetchCrl()]);
        latest = seen[0]!;
        return seen.every((r) => r.status === 200 && lists(r.raw, doomed.serial));
      },
      5_000,
    );
    assert.ok(crlNumber(latest.raw) > crlNumber(first.raw), 'the CRL number grew');
    assert.match(crlText(latest.raw), new RegExp(`Serial Number: ${doomed.serial.toUpperCase()}[\\s\\S]*?Key Compromise`));
    assert.notEqual(latest.headers.etag, etag);
    assert.equal((await fetchCrl('/crl/active.crl', { 'if-none-match': etag })).status, 200, 'a stale tag gets the new CRL');

    // The stable per-issuer URLs: DER, PEM by suffix or by Accept; relying parties check with openssl.
    const issuing = readFileSync(join(server.dataDir, 'ca/issuing-ca.pem'), 'utf8');
    const keyId = createHash('sha1')
      .update(new X509Certificate(issuing).publicKey.export({ type: 'spki', format: 'der' }).subarray(-65))
      .digest('hex');
    assert.deepEqual((await fetchCrl(`/crl/${keyId}.crl`)).raw, latest.raw);
    const pem = await fetchCrl(`/crl/${keyId}.pem`);
    assert.equal(pem.headers['content-type'], 'application/x-pem-file');
    assert.match(pem.body, /^-----BEGIN X509 CRL-----\n/);
    const negotiated = await fetchCrl(`/crl/${keyId}`, { accept: 'application/x-pem-file' });
    assert.equal(negotiated.body, pem.body);
    assert.equal(negotiated.headers.vary, 'Accept');

    const caFile = join(work, 'crl-ca.pem');
    const crlFile = join(work, 'issuing.crl.pem');
    writeFileSync(caFile, server.rootPem + issuing);
    writeFileSync(crlFile, pem.body);
    const check = (leaf: { cert: string }) => {
      const leafFile = join(work, 'crl-leaf.pem');
      writeFileSync(leafFile, new X509Certificate(leaf.cert).toString());
      try {
        return openssl(['verify', '-crl_check', '-CAfile', caFile, '-CRLfile', crlFile, leafFile]);
      } catch (err) {
        return String((err as { stdout: string }).stdout) + String((err as { stderr: string }).stderr);
      }
    };
    assert.match(check(live.tls), /: OK/);
    assert.match(check(doomed.tls), /certificate revoked/);

    for (const path of ['/crl/00ff00ff.crl', '/crl/not-an-issuer.crl']) {
      const missing = await fetchCrl(path);
      assert.equal(missing.status, 404, path);
      assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
      assert.equal(missing.json().type, 'urn:workload-ca:problem:not-found');
    }
  });
});

describe('every denial is a problem document and issues nothing', () => {
  const expectProblem = async (resP: ReturnType<typeof issue>, status: number, type: string, detail?: RegExp) => {
    const res = await resP;
    assert.equal(res.status, status, res.body);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const p = res.json();
    assert.equal(p.type, `urn:workload-ca:problem:${type}`);
    assert.equal(p.status, status);
    if (detail) assert.match(p.detail, detail);
    assert.equal(p.certificate, undefined);
    return p;
  };

  test('no credentials → 401 with WWW-Authenticate', async () => {
    const res = await issue({ csr: buildCsr().pem });
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="workload-ca"');
    await expectProblem(Promise.resolve(res), 401, 'unauthenticated');
  });

  test('tokens: garbage, wrong issuer, wrong signer, wrong audience, expired → 401', async () => {
    const csr = buildCsr().pem;
    await expectProblem(issue({ csr }, { authorization: 'Bearer abc.def.ghi' }), 401, 'unauthenticated', /not a JWT/);
    await expectProblem(issue({ csr }, { authorization: 'Basic dXNlcjpwYXNz' }), 401, 'unauthenticated');
    const devKey = createPrivateKey(readFileSync(join(server.dataDir, 'dev-token-issuer/signing-key.pem'), 'utf8'));
    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const forge = (key: KeyObject, claims: { iss: string; aud: string; exp: number }) =>
      new SignJWT({ 'kubernetes.io': { namespace: 'x', serviceaccount: { name: 'y' } } })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setSubject('s')
        .setExpirationTime(claims.exp)
        .sign(key);
    const iss = 'https://token-issuer.workload-ca.test';
    const bearer = async (key: KeyObject, claims: { iss: string; aud: string; exp: number }) => ({
      authorization: `Bearer ${await forge(key, claims)}`,
    });
    await expectProblem(
      issue({ csr }, await bearer(stranger, { iss: 'https://evil.test', aud: 'workload-ca', exp: now + 600 })),
      401,
      'unauthenticated',
      /not trusted/,
    );
    await expectProblem(issue({ csr }, await bearer(stranger, { iss, aud: 'workload-ca', exp: now + 600 })), 401, 'unauthenticated', /key|signature/);
    await expectProblem(issue({ csr }, await bearer(devKey, { iss, aud: 'someone-else', exp: now + 600 })), 401, 'unauthenticated', /aud/);
    await expectProblem(issue({ csr }, await bearer(devKey, { iss, aud: 'workload-ca', exp: now - 3600 })), 401, 'unauthenticated', /expired/);
    // The control: the same construction with good claims is accepted.
    const ok = await issue({ csr }, await bearer(devKey, { iss, aud: 'workload-ca', exp: now + 600 }));
    assert.equal(ok.status, 201, ok.body);
    assert.equal(ok.json().spiffe_id, `spiffe://${TD}/ns/x/sa/y`);
    issuedSerials.push(ok.json().serial);
  });

  test('malformed CSRs → 400 malformed-csr', async () => {
    const auth = { authorization: `Bearer ${token}` };
    await expectProblem(issue({ csr: 'hello' }, auth), 400, 'malformed-csr');
    await expectProblem(issue({ csr: buildCsr({ badSignature: true }).pem }, auth), 400, 'malformed-csr', /signature/);
    await expectProblem(issue({ csr: buildCsr({ trailing: Buffer.from([0]) }).pem }, auth), 400, 'malformed-csr', /trailing/);
    const san = sanExtension({ dns: ['a.example.org'] });
    await expectProblem(issue({ csr: buildCsr({ extensions: [san, san] }).pem }, auth), 400, 'malformed-csr', /twice/);
    const big = buildCsr({ extensions: [sanExtension({ dns: Array.from({ length: 600 }, (_, i) => `h${i}.example.org`) })] }).pem;
    await expectProblem(issue({ csr: big }, auth), 400, 'malformed-csr', /limit is 8192/);
  });

  test('keys the policy does not allow → 400 key-not-allowed', async () => {
    const auth = { authorization: `Bearer ${token}` };
    await expectProblem(issue({ csr: buildCsr({ key: testKey('rsa2048') }).pem }, auth), 400, 'key-not-allowed', /rsa-2048/);
    await expectProblem(issue({ csr: buildCsr({ key: testKey('p384') }).pem }, auth), 400, 'key-not-allowed', /ecdsa-p384/);
    await expectProblem(issue({ csr: buildCsr({ key: testKey('secp256k1') }).pem }, auth), 400, 'key-not-allowed', /curve/);
  });

  test('identities, SANs and lifetimes outside the rule → 403 naming the rule', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const p = await expectProblem(
      issue({ csr: buildCsr({ extensions: [sanExtension({ uris: [`spiffe://${TD}/ns/other/sa/api`] })] }).pem }, auth),
      403,
      'identity-not-allowed',
      /kubernetes-service-accounts/,
    );
    assert.equal(p.rule, 'kubernetes-service-accounts');
    await expectProblem(
      issue({ csr: buildCsr({ extensions: [sanExtension({ dns: ['evil.example.com'] })] }).pem }, auth),
      403,
      'san-not-allowed',
      /evil\.example\.com/,
    );
    await expectProblem(issue({ csr: buildCsr().pem, ttl: 7 * 86400 }, auth), 403, 'lifetime-not-allowed');
  });

  test('wrong media type → 415, invalid JSON and unknown fields → 400, 1 MiB body → 413', async () => {
    const auth = { authorization: `Bearer ${token}` };
    await expectProblem(issue(buildCsr().pem, { ...auth, 'content-type': 'application/pkcs10' }), 415, 'unsupported-media-type');
    await expectProblem(issue('{"csr":', auth), 400, 'malformed-request');
    await expectProblem(issue({ csr: buildCsr().pem, extra: 1 }, auth), 400, 'malformed-request');
    await expectProblem(issue({ csr: 'A'.repeat(1024 * 1024) }, auth), 413, 'body-too-large');
  });
});

describe('bundle, health and metrics', () => {
  test('GET /v1/bundle as PEM and in the SPIFFE format', async () => {
    const pem = await https(server, 'GET', '/v1/bundle');
    assert.equal(pem.status, 200);
    assert.equal(new X509Certificate(pem.body).fingerprint256, new X509Certificate(server.rootPem).fingerprint256);
    const spiffe = (await https(server, 'GET', '/v1/bundle?format=spiffe')).json();
    assert.equal(spiffe.keys.length, 1);
    assert.equal(spiffe.keys[0].use, 'x509-svid');
    assert.equal(spiffe.keys[0].crv, 'P-256');
    assert.equal(
      new X509Certificate(Buffer.from(spiffe.keys[0].x5c[0], 'base64')).fingerprint256,
      new X509Certificate(server.rootPem).fingerprint256,
    );
    assert.equal((await https(server, 'GET', '/v1/bundle?format=xml')).status, 400);
  });

  test('the OpenAPI document describes the issuance and inventory endpoints', async () => {
    const doc = (await https(server, 'GET', '/v1/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/v1/svids',
      '/v1/bundle',
      '/v1/admin/certificates',
      '/v1/admin/certificates/{serial}',
      '/v1/admin/stats/live',
      '/v1/admin/denials',
      '/v1/admin/revocations',
      '/v1/admin/revocations/{eventId}',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    assert.deepEqual(doc.paths['/v1/svids'].post.requestBody.content['application/json'].schema.required, ['csr']);
    assert.deepEqual(doc.paths['/v1/admin/denials'].get.security, [{ adminToken: [] }]);
  });

  test('healthz, readyz, and metrics aggregated across workers', async () => {
    assert.equal((await https(server, 'GET', '/healthz')).status, 200);
    assert.equal((await https(server, 'GET', '/readyz')).status, 200);
    const metrics = (await https(server, 'GET', '/metrics')).body;
    const issued = /workload_ca_issued_total\{path="api",rule="kubernetes-service-accounts"\} (\d+)/.exec(metrics);
    assert.ok(issued, metrics.slice(0, 2000));
    assert.ok(Number(issued[1]) >= 5);
    assert.match(metrics, /workload_ca_denied_total\{path="api",rule="kubernetes-service-accounts",code="identity-not-allowed"\} 1/);
    assert.match(metrics, /workload_ca_issuance_seconds_bucket/);
  });
});

describe('the inventory through the workers', () => {
  test('recent denials, with and without a cursor, whichever worker answers', async () => {
    const headers = { authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}` };
    // A new connection per request (no agent), so the two workers take turns at the primary's ledger.
    for (let i = 0; i < 4; i++) {
      const first = await https(server, 'GET', '/v1/admin/denials?limit=2', { headers });
      assert.equal(first.status, 200, first.body);
      const page = first.json();
      assert.equal(page.items.length, 2);
      assert.equal(typeof page.next_cursor, 'string', first.body);
      const next = await https(server, 'GET', `/v1/admin/denials?limit=2&cursor=${encodeURIComponent(page.next_cursor)}`, { headers });
      assert.equal(next.status, 200, next.body);
      assert.notDeepEqual(next.json().items, page.items);
    }
  });
});

describe('workload-ca inventory, against the running embedded CA', () => {
  test('ls, show, stats and denials print what the inventory API answers', async () => {
    const headers = { authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}` };
    const spiffeId = `spiffe://${TD}/ns/inventorycli/sa/one`;
    const res = await issue({ csr: buildCsr().pem }, { authorization: `Bearer ${await mint('inventorycli', 'one')}` });
    assert.equal(res.status, 201, res.body);
    const serial: string = res.json().serial;
    issuedSerials.push(serial);
    await eventually('the ledger row', async () => (await https(server, 'GET', `/v1/admin/certificates/${serial}`, { headers })).status === 200);

    const [ls, lsJson, show, stats, statsJson, denials] = await Promise.all([
      server.cli(['inventory', 'ls', '--spiffe-id', spiffeId]),
      server.cli(['inventory', 'ls', '--prefix', `spiffe://${TD}/ns/inventorycli/`, '--expires-within', '2h', '--json']),
      server.cli(['inventory', 'show', serial.toUpperCase()]),
      server.cli(['inventory', 'stats', '--by', 'path']),
      server.cli(['inventory', 'stats', '--by', 'path', '--json']),
      server.cli(['inventory', 'denials', '--limit', '3']),
    ]);
    for (const r of [ls, lsJson, show, stats, statsJson, denials]) assert.equal(r.code, 0, r.stderr);
    const lines = ls.stdout.trim().split('\n');
    assert.match(lines[0]!, /^SERIAL\s+SPIFFE ID\s+PATH\s+RULE\s+NOT AFTER\s+STATUS$/);
    assert.equal(lines.length, 2, ls.stdout);
    assert.match(lines[1]!, new RegExp(`^${serial}\\s+${spiffeId}\\s+api\\s+\\S+\\s+\\S+ \\(in \\d+m\\)\\s+live$`));

    const api = await https(server, 'GET', `/v1/admin/certificates?spiffe_id_prefix=${encodeURIComponent(`spiffe://${TD}/ns/inventorycli/`)}`, {
      headers,
    });
    assert.deepEqual(JSON.parse(lsJson.stdout).items, api.json().items, '--json prints the API page as it is');

    assert.match(show.stdout, new RegExp(`^serial\\s+${serial}$`, 'm'));
    assert.match(show.stdout, new RegExp(`^spiffe id\\s+${spiffeId}$`, 'm'));
    assert.match(show.stdout, /^status\s+live$/m);

    const byPath = (await https(server, 'GET', '/v1/admin/stats/live?group_by=path', { headers })).json();
    assert.deepEqual(JSON.parse(statsJson.stdout), byPath);
    const apiCount = byPath.groups.find((g: { key: string }) => g.key === 'api').count;
    assert.match(stats.stdout, new RegExp(`^api\\s+${apiCount}$`, 'm'));

    const recent = (await https(server, 'GET', '/v1/admin/denials?limit=3', { headers })).json();
    assert.ok(recent.items.length > 0, 'earlier tests were refused');
    assert.equal(denials.stdout.trim().split('\n').length, 1 + recent.items.length + (recent.next_cursor ? 1 : 0), denials.stdout);
    assert.ok(denials.stdout.includes(recent.items[0].code), denials.stdout);

    const missing = await server.cli(['inventory', 'show', 'abcdef']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no certificate with serial abcdef/);
  });
});

describe('the embedded ledger', () => {
  test('holds exactly the certificates clients received, and the denials', async () => {
    assert.equal(await server.stop(), 0);
    const db = await openEmbeddedLedger(join(server.dataDir, 'ledger'));
    try {
      const { rows } = await db.query<{ serial: string; rule: string; policy_hash: string; path: string; requester_id: string }>(
        'SELECT serial, rule, policy_hash, path, requester_id FROM certificates',
      );
      assert.deepEqual(rows.map((r) => r.serial).sort(), [...issuedSerials].sort());
      for (const r of rows) {
        assert.match(r.policy_hash, /^sha256:[0-9a-f]{64}$/);
        assert.equal(r.path, 'api');
      }
      assert.ok(rows.some((r) => r.rule === 'svid-renewal'));
      const denials = await db.query<{ code: string; rule: string }>('SELECT code, rule FROM denials');
      const codes = new Set(denials.rows.map((d) => d.code));
      for (const c of ['bad-csr', 'key-not-allowed', 'identity-not-allowed', 'san-not-allowed', 'lifetime-not-allowed']) assert.ok(codes.has(c), c);
    } finally {
      await db.close();
    }
  });
});
