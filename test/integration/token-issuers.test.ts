// Trusted token issuers from the configuration file: a JWKS file with an RS256 key, and a JWKS
// URL (served here over loopback HTTP) with an ES256 key, each mapped by its own policy rule.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { mintDevToken } from '../../src/dev/token-issuer.js';
import { buildCsr } from '../support/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const dataDir = scratchDir('wlca-iss-');
let jwksServer: Server;
let jwksHits = 0;
let server: TestServer;

const sign = (key: KeyObject, alg: string, kid: string, iss: string, sub: string) =>
  new SignJWT({}).setProtectedHeader({ alg, kid }).setIssuer(iss).setAudience('ca').setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(key);

before(async () => {
  jwksServer = createServer((req, res) => {
    jwksHits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' }] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const port = (jwksServer.address() as { port: number }).port;

  writeFileSync(
    join(dataDir, 'rsa-jwks.json'),
    JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256' }] }),
  );
  writeFileSync(
    join(dataDir, 'config.yaml'),
    `
trustDomain: corp.test
tokenIssuers:
  - issuer: https://ci.corp.test
    audiences: [ca]
    jwksFile: ${join(dataDir, 'rsa-jwks.json')}
    maxTokenLifetimeSeconds: 900
  - issuer: https://idp.corp.test
    audiences: [ca, other]
    jwksUrl: http://127.0.0.1:${port}/jwks
`,
  );
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(
    join(dataDir, 'policy.yaml'),
    `version: 1
guardrails:
  trustDomain: corp.test
rules:
  - name: ci-jobs
    match:
      token: { issuer: https://ci.corp.test, claims: { sub: "job-*" } }
    grant:
      spiffeId: 'spiffe://{trustDomain}/ci/{claims.sub}'
      maxLifetime: 10m
  - name: idp-services
    match:
      token: { issuer: https://idp.corp.test }
    grant:
      spiffeId: 'spiffe://{trustDomain}/svc/{claims.sub}'
`,
  );
  server = await startServer({ dataDir, env: { WORKLOAD_CA_CONFIG: join(dataDir, 'config.yaml') } });
});

after(async () => {
  await server?.stop();
  jwksServer?.close();
  removeDataDir(dataDir);
});

const issue = (token: string) =>
  https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ csr: buildCsr().pem }),
  });

test('RS256 tokens verified against a JWKS file', async () => {
  const res = await issue(await sign(rsa.privateKey, 'RS256', 'rsa-1', 'https://ci.corp.test', 'job-42'));
  assert.equal(res.status, 201, res.body);
  assert.equal(res.json().spiffe_id, 'spiffe://corp.test/ci/job-42');
  const denied = await issue(await sign(rsa.privateKey, 'RS256', 'rsa-1', 'https://ci.corp.test', 'laptop-1'));
  assert.equal(denied.status, 403);
  assert.equal(denied.json().type, 'urn:workload-ca:problem:no-matching-rule');
});

test('ES256 tokens verified against a JWKS URL, fetched once and cached', async () => {
  const first = await issue(await sign(ec.privateKey, 'ES256', 'ec-1', 'https://idp.corp.test', 'billing'));
  assert.equal(first.status, 201, first.body);
  assert.equal(first.json().spiffe_id, 'spiffe://corp.test/svc/billing');
  const second = await issue(await sign(ec.privateKey, 'ES256', 'ec-1', 'https://idp.corp.test', 'search'));
  assert.equal(second.status, 201, second.body);
  assert.equal(jwksHits, 1);
});

test("a token signed by one issuer's key but claiming the other issuer is refused", async () => {
  const res = await issue(await sign(rsa.privateKey, 'RS256', 'rsa-1', 'https://idp.corp.test', 'billing'));
  assert.equal(res.status, 401);
  assert.equal(res.json().type, 'urn:workload-ca:problem:unauthenticated');
});

test('the development issuer stays on in embedded mode, and a policy without a rule for it denies', async () => {
  // Embedded mode (no DATABASE_URL) keeps the development issuer unless the configuration says otherwise.
  const r = await server.cli(['token', '--namespace', 'a', '--service-account', 'b']);
  assert.equal(r.code, 0, r.stderr);
  const res = await issue(r.stdout.trim());
  // The custom policy has no rule for the development issuer: authenticated, then default-deny.
  assert.equal(res.status, 403);
  assert.equal(res.json().rule, 'default-deny');
});

const YEAR = 365 * 86_400;
const now = () => Math.floor(Date.now() / 1000);

/** An ES256 token from the JWKS-URL issuer (default cap: 24 h) with exactly the time claims given. */
const idpToken = (times: { iat?: number; nbf?: number; exp: number }, sub = 'billing') => {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).setIssuer('https://idp.corp.test').setAudience('ca').setSubject(sub);
  if (times.iat !== undefined) jwt.setIssuedAt(times.iat);
  if (times.nbf !== undefined) jwt.setNotBefore(times.nbf);
  return jwt.setExpirationTime(times.exp).sign(ec.privateKey);
};

const assertTooLong = (res: Awaited<ReturnType<typeof issue>>, max: RegExp) => {
  assert.equal(res.status, 401, res.body);
  assert.equal(res.json().type, 'urn:workload-ca:problem:unauthenticated');
  assert.match(res.json().detail, /token lifetime .* exceeds this issuer's maximum of /);
  assert.match(res.json().detail, max);
};

test('a token valid for 100 years is refused with 401, every time it is presented', async () => {
  const century = await idpToken({ iat: now(), exp: now() + 100 * YEAR });
  // Twice: a refused token must not reach the verifier's cache and pass the second time.
  for (let i = 0; i < 2; i++) assertTooLong(await issue(century), /maximum of 86400 s/);
  // The default cap is a day: a token of exactly a day is accepted.
  const day = await issue(await idpToken({ iat: now(), exp: now() + 86_400 }, 'day'));
  assert.equal(day.status, 201, day.body);
});

test('the cap is per issuer: 15 minutes for the CI issuer', async () => {
  const rs = (lifetime: string, sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer('https://ci.corp.test')
      .setAudience('ca')
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(lifetime)
      .sign(rsa.privateKey);
  assertTooLong(await issue(await rs('20m', 'job-7')), /maximum of 900 s/);
  const ok = await issue(await rs('15m', 'job-8'));
  assert.equal(ok.status, 201, ok.body);
});

test('without iat the lifetime runs from nbf, and without either from now', async () => {
  // Issued (nbf) two days ago, expiring in an hour: 49 hours of life, though only one is left.
  assertTooLong(await issue(await idpToken({ nbf: now() - 2 * 86_400, exp: now() + 3600 })), /from its "nbf"/);
  assertTooLong(await issue(await idpToken({ exp: now() + 100 * YEAR })), /from now/);
  // An iat in the future cannot shorten the measured life: it counts from now.
  assertTooLong(await issue(await idpToken({ iat: now() + 99 * YEAR, exp: now() + 100 * YEAR })), /from now/);
  const ok = await issue(await idpToken({ exp: now() + 3600 }, 'no-iat'));
  assert.equal(ok.status, 201, ok.body);
});

test('the development issuer has the same cap, and its token command refuses to mint past it', async () => {
  const dev = { issuer: 'https://token-issuer.workload-ca.test', audience: 'workload-ca', namespace: 'a', serviceAccount: 'b' };
  const long = await mintDevToken(join(dataDir, 'dev-token-issuer'), { ...dev, ttlSeconds: 100 * YEAR });
  assertTooLong(await issue(long), /maximum of 86400 s/);
  const cli = await server.cli(['token', '--namespace', 'a', '--service-account', 'b', '--ttl', String(86_400 + 1)]);
  assert.equal(cli.code, 2, cli.stdout);
  assert.match(cli.stderr, /exceeds the development issuer's maximum token lifetime of 86400 s/);
});
