// The policy reloads at run time: a valid change takes effect without a restart, an invalid one is
// refused and the old policy keeps serving, and SIGHUP reloads too.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCsr } from '../support/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/eventually.js';

let server: TestServer;
let token: string;
let policyFile: string;
let original: string;

before(async () => {
  server = await startServer({ workers: 2, env: { WORKLOAD_CA_LOG_LEVEL: 'info' } });
  const r = await server.cli(['token', '--namespace', 'ops', '--service-account', 'cron']);
  token = r.stdout.trim();
  policyFile = join(server.dataDir, 'policy.yaml');
  original = readFileSync(policyFile, 'utf8');
});

after(async () => {
  await server?.stop();
  if (server) removeDataDir(server.dataDir);
});

const issueWithTtl = (ttl: number) =>
  https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ csr: buildCsr().pem, ttl }),
  });

/** Replaces the file the way editors and ConfigMaps do: write aside, then rename over it. */
function replacePolicy(text: string): void {
  writeFileSync(`${policyFile}.new`, text);
  renameSync(`${policyFile}.new`, policyFile);
}

test('a valid new policy takes effect on every worker without a restart', async () => {
  assert.equal((await issueWithTtl(7200)).status, 201);
  const narrowed = original.replace('      maxLifetime: 24h', '      maxLifetime: 1h');
  assert.notEqual(narrowed, original);
  replacePolicy(narrowed);
  // Two workers each reload; keep asking until both refuse, i.e. several refusals in a row.
  await eventually('ttl 7200 refused by the new rule maximum', async () => {
    const results = await Promise.all([issueWithTtl(7200), issueWithTtl(7200), issueWithTtl(7200), issueWithTtl(7200)]);
    return results.every((r) => r.status === 403);
  });
  const refused = await issueWithTtl(7200);
  assert.equal(refused.json().type, 'urn:workload-ca:problem:lifetime-not-allowed');
  assert.equal((await issueWithTtl(1800)).status, 201);
});

test('an invalid policy is refused with its problems logged; the previous one keeps serving', async () => {
  replacePolicy('version: 1\nguardrails:\n  trustDomain: Not A Domain\nrules: []\n');
  await eventually('the refusal in the log', async () => /policy reload refused/.test(server.output()));
  assert.match(server.output(), /policy\.yaml:3:/);
  assert.equal((await issueWithTtl(1800)).status, 201, 'the 1h-maximum policy still serves');
  assert.equal((await issueWithTtl(7200)).status, 403);
});

test('SIGHUP reloads the policy', async () => {
  const before = server.output().match(/policy reloaded/g)?.length ?? 0;
  writeFileSync(policyFile, original);
  process.kill(server.pid, 'SIGHUP');
  await eventually('both workers report the reload', async () => (server.output().match(/policy reloaded/g)?.length ?? 0) >= before + 2);
  await eventually('ttl 7200 allowed again', async () => {
    const results = await Promise.all([issueWithTtl(7200), issueWithTtl(7200), issueWithTtl(7200), issueWithTtl(7200)]);
    return results.every((r) => r.status === 201);
  });
});
