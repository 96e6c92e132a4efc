// The log an operator reads: one JSON line per request and one per decision, on every path, with
// no credential, key or certificate in any of them. The real CLI at info level, real HTTPS.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCsr } from '../support/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';

let server: TestServer;
let token: string;

before(async () => {
  server = await startServer({ env: { WORKLOAD_CA_LOG_LEVEL: 'info' } });
  const r = await server.cli(['token', '--namespace', 'logs', '--service-account', 'reader']);
  assert.equal(r.code, 0, r.stderr);
  token = r.stdout.trim();
});

after(async () => {
  await server?.stop();
  if (server) removeDataDir(server.dataDir);
});

interface Line {
  readonly msg: string;
  readonly [field: string]: unknown;
}

function lines(): Line[] {
  return server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

async function waitFor(pred: (l: Line) => boolean, what: string): Promise<Line> {
  let hit: Line | undefined;
  await eventually(
    () => `a log line ${what} in:\n${server.output()}`,
    () => (hit = lines().find(pred)) !== undefined,
    2500,
    50,
  );
  return hit!;
}

test('one request line and one decision line per issuance and per refusal, with no secret in any line', async () => {
  const csr = buildCsr();
  const ok = await https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ csr: csr.pem }),
  });
  assert.equal(ok.status, 201, ok.body);
  const serial = ok.json().serial as string;

  const refused = await https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ csr: csr.pem.replace(/[A-Za-z](?=[A-Za-z0-9+/=]*\n-----END)/, (c) => (c === 'A' ? 'B' : 'A')) }),
  });
  assert.equal(refused.status, 400, refused.body);
  const acme = await https(server, 'GET', '/acme/directory');
  assert.equal(acme.status, 200);
  const est = await https(server, 'GET', '/.well-known/est/cacerts');
  assert.equal(est.status, 200);

  const issued = await waitFor((l) => l.msg === 'issued' && l.serial === serial, `issued ${serial}`);
  assert.equal(issued.path, 'api');
  assert.equal(issued.spiffeId, 'spiffe://workload-ca.test/ns/logs/sa/reader');
  assert.equal(typeof issued.rule, 'string');
  assert.equal(issued.recorded, true);
  assert.deepEqual((issued.requester as Record<string, unknown>).kind, 'token');

  const denial = await waitFor((l) => l.msg === 'refused' && l.path === 'api', 'refused on api');
  assert.equal(denial.code, 'bad-csr');
  assert.equal(denial.rule, 'csr-check');

  // The request line is written once the response has finished, which may be after the client has it.
  await waitFor((l) => l.msg === 'request' && l.url === '/.well-known/est/cacerts' && l.status === 200, 'for the EST request');
  await waitFor((l) => l.msg === 'request' && l.route === '/acme/directory' && l.status === 200, 'for the ACME request');
  const requests = lines().filter((l) => l.msg === 'request');
  const svids = requests.filter((l) => l.route === '/v1/svids');
  assert.deepEqual(svids.map((l) => l.status).sort(), [201, 400]);
  for (const l of svids) {
    assert.equal(l.method, 'POST');
    assert.equal(l.client, '127.0.0.1');
    assert.equal(typeof l.ms, 'number');
    assert.equal(typeof l.reqId, 'string');
  }

  const all = server.output();
  assert.ok(!all.includes(token), 'the bearer token is in the log');
  assert.ok(!all.includes(token.split('.')[2]!), 'the token signature is in the log');
  assert.ok(!/BEGIN|MII[A-Za-z0-9+/]{40}/.test(all), 'a CSR or certificate is in the log');
});
