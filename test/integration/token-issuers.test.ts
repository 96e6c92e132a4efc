// Trusted token issuers from the configuration file: a JWKS file with an RS256 key, and a JWKS
// URL (served here over loopback HTTP) with an ES256 key, each mapped by its own policy rule.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { buildCsr } from '../helpers/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../helpers/server.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const dataDir = mkdtempSync(join(tmpdir(), 'wlca-iss-'));
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

  writeFileSync(join(dataDir, 'rsa-jwks.json'), JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256' }] }));
  writeFileSync(join(dataDir, 'config.yaml'), `
trustDomain: corp.test
tokenIssuers:
  - issuer: https://ci.corp.test
    audiences: [ca]
    jwksFile: ${join(dataDir, 'rsa-jwks.json')}
  - issuer: https://idp.corp.test
    audiences: [ca, other]
    jwksUrl: http://127.0.0.1:${port}/jwks
`);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'policy.yaml'), `version: 1
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
`);
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

test('a token signed by one issuer\'s key but claiming the other issuer is refused', async () => {
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
