// Every refusal is recorded one way, by the Issuer: failed authentication on the API and ACME is
// a ledger denial against what the credential claimed (marked unverified) and the client
// address, like on EST; a request with no credentials is challenged and counted, not recorded;
// repeats from one source are folded into a row with a count; ACME newOrder refusals reach the
// ledger. Errors the framework answers are problem documents. One real server, one process, so
// that the folding is deterministic.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { DenialRecord } from '../../src/ledger/inventory.js';
import { openEmbeddedLedger } from '../../src/ledger/pglite.js';
import { startAcmeBench, type AcmeBench } from '../support/acme.js';
import { buildCsr } from '../support/csr.js';
import { https, removeDataDir } from '../support/server.js';

const ISSUER = 'https://token-issuer.workload-ca.test';
let bench: AcmeBench;
let devKey: KeyObject;
const csr = buildCsr().pem;

before(async () => {
  bench = await startAcmeBench();
  devKey = createPrivateKey(readFileSync(join(bench.server.dataDir, 'dev-token-issuer/signing-key.pem'), 'utf8'));
});

after(async () => {
  await bench?.stop();
  if (bench) removeDataDir(bench.server.dataDir);
});

async function token(key: KeyObject, claims: { iss?: string; aud?: string; exp?: number; sub?: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ 'kubernetes.io': { namespace: 'refusals', serviceaccount: { name: 'api' } } })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? 'workload-ca')
    .setSubject(claims.sub ?? 'system:serviceaccount:refusals:api')
    .setIssuedAt(now - 5)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key);
}

function svid(authorization?: string) {
  return https(bench.server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ csr }),
  });
}

const metric = async (re: RegExp): Promise<number> => Number(re.exec((await https(bench.server, 'GET', '/metrics')).body)?.[1] ?? 0);

describe('failed authentication on the API', () => {
  test('forged, expired, wrong-audience and untrusted tokens are denials against the claimed identity; no credentials is a challenge', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      ['forged', await token(stranger, { sub: 'forged' })],
      ['expired', await token(devKey, { sub: 'expired', exp: now - 3600 })],
      ['wrong-audience', await token(devKey, { sub: 'wrong-audience', aud: 'someone-else' })],
      ['untrusted', await token(devKey, { sub: 'untrusted', iss: 'https://evil.test' })],
    ];
    const challengesBefore = await metric(/^workload_ca_auth_challenges_total\{path="api",label=""\} (\d+)/m);
    for (const [, t] of cases) {
      const r = await svid(`Bearer ${t}`);
      assert.equal(r.status, 401, r.body);
      assert.equal(r.json().type, 'urn:workload-ca:problem:unauthenticated');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    }
    const bare = await svid();
    assert.equal(bare.status, 401);

    const denials = await recentDenials();
    for (const [sub] of cases) {
      const row = denials.find((d) => d.path === 'api' && d.requester_id.endsWith(`#${sub}`));
      assert.ok(row, `a denial for the ${sub} token: ${JSON.stringify(denials)}`);
      assert.equal(row.requester_kind, 'unverified');
      assert.equal(row.rule, 'api:authentication');
      assert.equal(row.code, 'unauthenticated');
      assert.equal(row.client_address, '127.0.0.1');
      assert.match(row.requester_id, /^unverified token: https:\/\/(token-issuer\.workload-ca|evil)\.test#/);
    }
    assert.ok(!denials.some((d) => /send a bearer token/.test(d.reason)), 'no denial for a request without credentials');
    assert.equal(await metric(/^workload_ca_auth_challenges_total\{path="api",label=""\} (\d+)/m), challengesBefore + 1);
    assert.ok((await metric(/^workload_ca_denied_total\{path="api",rule="api:authentication",code="unauthenticated"\} (\d+)/m)) >= 4);
  });

  test('a flood of the same forged token is one row at once, and one row with the count of the rest', async () => {
    const forged = await token(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, { sub: 'flood' });
    for (let i = 0; i < 30; i++) assert.equal((await svid(`Bearer ${forged}`)).status, 401);
    const rows = (await recentDenials()).filter((d) => d.requester_id.endsWith('#flood'));
    assert.deepEqual(
      rows.map((d) => d.repeat_count),
      [1],
      'only the first is written while the window is open',
    );
    // The count is written when the window closes; stopping the server closes it.
    floodChecked = true;
  });
});

describe('ACME', () => {
  test('newOrder refused by the policy, and a request signed for an account that does not exist, are denials', async () => {
    const c = await bench.client('web');
    const refused = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'db.other.vm.workload-ca.test' }] });
    assert.equal(refused.status, 400);
    const ghost = await bench.client('web');
    ghost.kid = `${c.kid!.replace(/\/[^/]+$/, '')}/no-such-account`;
    const unknown = await ghost.post(ghost.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'a.web.vm.workload-ca.test' }] });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json!.type, 'urn:ietf:params:acme:error:accountDoesNotExist');

    const denials = await recentDenials();
    const order = denials.find((d) => d.path === 'acme' && d.rule === 'acme-vms' && d.code === 'san-not-allowed');
    assert.ok(order, JSON.stringify(denials.filter((d) => d.path === 'acme')));
    assert.equal(order.requester_kind, 'acme-account');
    assert.equal(order.client_address, '127.0.0.1');
    const auth = denials.find((d) => d.path === 'acme' && d.rule === 'acme:authentication');
    assert.ok(auth, 'the unknown account is a denial');
    assert.match(auth.requester_id, /^unverified acme-jws: .*no-such-account$/);
  });
});

describe('errors the framework answers', () => {
  test('headers too large (431), a path parameter too long (414) and text/plain (415) are problem documents', async () => {
    const long = await https(bench.server, 'GET', `/v1/admin/certificates/${'a'.repeat(300)}`);
    assert.equal(long.status, 414);
    assert.match(String(long.headers['content-type']), /^application\/problem\+json/);
    assert.equal(long.json().type, 'urn:workload-ca:problem:uri-too-long');

    const text = await https(bench.server, 'POST', '/v1/svids', { headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(text.status, 415);
    assert.equal(text.json().type, 'urn:workload-ca:problem:unsupported-media-type');

    const raw = await rawRequest(`GET /v1/bundle HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 431 /);
    assert.match(raw, /\r\nContent-Type: application\/problem\+json\r\n/);
    assert.equal(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).type, 'urn:workload-ca:problem:header-too-large');

    const est = await https(bench.server, 'GET', `/.well-known/est/${'a'.repeat(300)}/cacerts`);
    assert.equal(est.status, 414);
    assert.match(String(est.headers['content-type']), /^text\/plain/);
  });
});

let floodChecked = false;

describe('the ledger after the server stops', () => {
  test('the folded repeats are written with their count', async () => {
    assert.ok(floodChecked, 'the flood test ran');
    await bench.server.stop();
    const db = await openEmbeddedLedger(join(bench.server.dataDir, 'ledger'));
    try {
      const { rows } = await db.query<{ repeat_count: number; reason: string }>(
        "SELECT repeat_count, reason FROM denials WHERE requester_id LIKE '%#flood' ORDER BY denied_at",
      );
      assert.deepEqual(
        rows.map((r) => r.repeat_count),
        [1, 29],
      );
      assert.match(rows[1]!.reason, /^29 more refusals like this from 127\.0\.0\.1 within 10 s; the first: /);
    } finally {
      await db.close();
    }
  });
});

async function recentDenials(): Promise<DenialRecord[]> {
  const r = await https(bench.server, 'GET', '/v1/admin/denials?limit=1000', { headers: { authorization: `Bearer ${bench.adminToken}` } });
  assert.equal(r.status, 200, r.body);
  return r.json().items as DenialRecord[];
}

function rawRequest(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: bench.server.port, ca: bench.server.rootPem, servername: 'localhost' }, () =>
      socket.write(text),
    );
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', (err) => (out ? resolve(out) : reject(err)));
  });
}
