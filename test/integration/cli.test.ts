// The command line as an operator uses it: init, policy check, and the token command's limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, ROOT } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await promisify(execFile)(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('init creates a P-256 root and issuing CA, keys mode 0600, and refuses to overwrite', async (t) => {
  const dir = scratchDir('init-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await cli(['init', join(dir, 'ca'), '--trust-domain', 'prod.example.org']);
  assert.equal(r.code, 0, r.stderr);
  // The root key is apart, in a directory of its own to take offline.
  for (const key of ['root/root-ca.key', 'issuing-ca.key']) {
    assert.equal(statSync(join(dir, 'ca', key)).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'ca', key), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  }
  assert.equal(statSync(join(dir, 'ca/root')).mode & 0o777, 0o700);
  assert.match(r.stdout, /move .*ca\/root offline/);
  // The ACME nonce key is a random secret of its own.
  assert.match(readFileSync(join(dir, 'ca/acme-nonce.key'), 'utf8'), /^[A-Za-z0-9_-]{43}\n$/);
  assert.equal(statSync(join(dir, 'ca/acme-nonce.key')).mode & 0o777, 0o600);
  const root = join(dir, 'ca/root-ca.pem');
  const issuing = join(dir, 'ca/issuing-ca.pem');
  assert.match(execFileSync('openssl', ['verify', '-CAfile', root, issuing], { encoding: 'utf8' }), /OK/);
  const text = execFileSync('openssl', ['x509', '-in', issuing, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /ASN1 OID: prime256v1/);
  assert.match(text, /CA:TRUE, pathlen:0/);
  assert.match(text, /Certificate Sign, CRL Sign/);
  assert.match(text, /URI:spiffe:\/\/prod\.example\.org\n/);
  assert.ok(new X509Certificate(readFileSync(root)).ca);

  const again = await cli(['init', join(dir, 'ca')]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /refusing to overwrite/);
});

test('init encrypts the keys with a passphrase from a file or the environment', async (t) => {
  const dir = scratchDir('init-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pass'), 'correct horse battery staple\n');
  const fromFile = await cli(['init', join(dir, 'a'), '--passphrase-file', join(dir, 'pass')]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const fromEnv = await cli(['init', join(dir, 'b')], { WORKLOAD_CA_KEY_PASSPHRASE: 'from the environment' });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  for (const [sub, pass] of [
    ['a', 'correct horse battery staple'],
    ['b', 'from the environment'],
  ] as const) {
    const key = join(dir, sub, 'issuing-ca.key');
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    // openssl reads it with the passphrase and not without.
    assert.match(execFileSync('openssl', ['pkey', '-in', key, '-passin', `pass:${pass}`, '-noout', '-text'], { encoding: 'utf8' }), /prime256v1/);
    assert.throws(() => execFileSync('openssl', ['pkey', '-in', key, '-passin', 'pass:wrong', '-noout'], { stdio: 'pipe' }));
  }
});

test('policy check: exit 0 for a valid policy, 1 with every problem and its line otherwise', async (t) => {
  const dir = scratchDir('policy-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  writeFileSync(
    good,
    `version: 1
guardrails:
  trustDomain: example.org
rules:
  - name: k8s
    match:
      token:
        issuer: https://kubernetes.default.svc
    grant:
      spiffeId: 'spiffe://{trustDomain}/ns/{claims["kubernetes.io"].namespace}'
`,
  );
  const ok = await cli(['policy', 'check', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid \(sha256:[0-9a-f]{64}, 1 rules\)/);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    `version: 1
guardrails:
  trustDomain: example.org
  maxLifetime: 24h
rules:
  - name: wide
    match:
      svid: { spiffeId: "spiffe://example.org/*" }
    grant:
      spiffeId: '{requester.spiffeId}'
      maxLifetime: 48h
  - name: other-domain
    match:
      token: { issuer: https://x }
    grant:
      spiffeId: 'spiffe://evil.org/x'
      keyAlgorithms: [rsa-2048]
`,
  );
  const r = await cli(['policy', 'check', bad]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:11:`) && /maxLifetime/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:16:`) && /trust domain|evil\.org/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:17:`) && /rsa-2048/.test(l)),
    r.stderr,
  );
  assert.match(lines.at(-1)!, /3 problems/);

  const missing = await cli(['policy', 'check', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  const usage = await cli(['policy', 'check']);
  assert.equal(usage.code, 2);
});

test('token is refused when the development issuer is off, and checks its arguments', async (t) => {
  const dir = scratchDir('token-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const off = await cli(['token', '--namespace', 'a', '--service-account', 'b'], {
    WORKLOAD_CA_DATA_DIR: dir,
    WORKLOAD_CA_DEV_TOKEN_ISSUER: 'false',
  });
  assert.equal(off.code, 1);
  assert.match(off.stderr, /development token issuer is off/);
  const usage = await cli(['token', '--namespace', 'a'], { WORKLOAD_CA_DATA_DIR: dir });
  assert.equal(usage.code, 2);
  const notYet = await cli(['token', '--namespace', 'a', '--service-account', 'b'], { WORKLOAD_CA_DATA_DIR: dir });
  assert.equal(notYet.code, 1);
  assert.match(notYet.stderr, /start the CA once first/);
});

test('unknown commands and bad configuration exit 2', async () => {
  assert.equal((await cli(['frobnicate'])).code, 2);
  const r = await cli(['token', '--namespace', 'a', '--service-account', 'b'], { WORKLOAD_CA_PORT: 'eighty' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /WORKLOAD_CA_PORT must be a whole number/);
});

test('a bad setting in the file is printed with its file key and environment variable, no stack, exit 2', async (t) => {
  const dir = scratchDir('config-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.yaml'), 'listen:\n  port: 70000\nacme:\n  externalAccountRequired: maybe\n');
  const r = await cli(['token', '--namespace', 'a', '--service-account', 'b'], {
    WORKLOAD_CA_DATA_DIR: dir,
    WORKLOAD_CA_CONFIG: join(dir, 'config.yaml'),
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /listen\.port must be at most 65535, got 70000 \(in .*config\.yaml; environment WORKLOAD_CA_PORT\)/);
  assert.match(
    r.stderr,
    /acme\.externalAccountRequired must be true or false, got "maybe" \(in .*config\.yaml; environment WORKLOAD_CA_ACME_EAB_REQUIRED\)/,
  );
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
});

test('a bad setting in the environment is printed with its variable and file key, no stack, exit 2', async (t) => {
  const dir = scratchDir('config-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (env: NodeJS.ProcessEnv) => cli(['token', '--namespace', 'a', '--service-account', 'b'], { WORKLOAD_CA_DATA_DIR: dir, ...env });
  // Set from the environment as JSON: an issuer with no key source at all.
  const issuers = await run({ WORKLOAD_CA_TOKEN_ISSUERS: '[{"issuer":"https://idp.example","audiences":["workload-ca"]}]' });
  assert.equal(issuers.code, 2, issuers.stderr);
  assert.match(
    issuers.stderr,
    /WORKLOAD_CA_TOKEN_ISSUERS: tokenIssuers\[0\] must be an issuer with exactly one of jwksFile and jwksUrl \(file key tokenIssuers\)/,
  );
  // A file that cannot be read is the setting's problem, not an exception.
  const passphrase = await run({ WORKLOAD_CA_KEY_PASSPHRASE_FILE: join(dir, 'missing') });
  assert.equal(passphrase.code, 2, passphrase.stderr);
  assert.match(passphrase.stderr, /WORKLOAD_CA_KEY_PASSPHRASE_FILE cannot be read \(ENOENT\), got ".*missing" \(file key ca\.passphraseFile\)/);
  // A yes/no typo is refused rather than read as "no".
  const typo = await run({ WORKLOAD_CA_DEV_TOKEN_ISSUER: 'flase' });
  assert.equal(typo.code, 2, typo.stderr);
  assert.match(
    typo.stderr,
    /WORKLOAD_CA_DEV_TOKEN_ISSUER must be true, false or \{maxTokenLifetimeSeconds: N\}, got "flase" \(file key devTokenIssuer\)/,
  );
  for (const r of [issuers, passphrase, typo]) assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
});
