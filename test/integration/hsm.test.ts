// The issuing key in an HSM (SoftHSM2, a token of the test's own): `init --pkcs11` makes the key
// inside the token, sensitive and not extractable, and writes only the certificate; one server
// with the PKCS#11 signer issues through the API and EST, and openssl verifies what it signed.
// Also: production refuses to start with an unencrypted key file.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import type * as Pkcs11Binding from 'pkcs11js';
import { initCa } from '../../src/ca/ceremony.js';
import { openPkcs11Signer } from '../../src/ca/pkcs11-signer.js';
import { defaultPolicyYaml } from '../../src/policy/index.js';
import { buildCsr } from '../support/csr.js';
import { curl, opensslCsr, pkcs7Certificates } from '../support/est.js';
import { CLI, ROOT, https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';
import { makeToken, type TestToken } from '../support/softhsm.js';

const TD = 'workload-ca.test';
let token: TestToken;
let server: TestServer;
const dataDir = scratchDir('wlca-hsm-');
const work = scratchDir('wlca-hsm-work-');

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function verifies(leafPem: string): void {
  const leaf = join(work, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(leaf, leafPem);
  const out = execFileSync('openssl', ['verify', '-CAfile', server.rootFile, '-untrusted', join(dataDir, 'ca/issuing-ca.pem'), leaf], {
    encoding: 'utf8',
  });
  assert.match(out, /: OK/);
}

before(async () => {
  token = makeToken('wlca-test');
  // The test process opens the token too (to inspect the key): the library reads this at load.
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
  const env = { ...token.caEnv, WORKLOAD_CA_DATA_DIR: dataDir };
  const init = await cli(['init', join(dataDir, 'ca'), '--pkcs11', '--trust-domain', TD], env);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /key in token "wlca-test", not extractable/);
  writeFileSync(
    join(dataDir, 'policy.yaml'),
    `${defaultPolicyYaml({ trustDomain: TD, tokenIssuer: 'https://token-issuer.workload-ca.test', audience: 'workload-ca' })}
  - name: est-bootstrap
    match: { paths: [est], est: { auth: [basic] } }
    grant: { spiffeId: 'spiffe://{trustDomain}/device/{requester.name}', defaultLifetime: 1h }
`,
  );
  server = await startServer({ workers: 1, dataDir, env: token.caEnv });
});

after(async () => {
  await server?.stop();
  removeDataDir(dataDir);
  removeDataDir(work);
});

test('init --pkcs11 writes certificates and no issuing key file; the root key sits apart, the nonce key on its own', () => {
  const ca = join(dataDir, 'ca');
  assert.equal(existsSync(join(ca, 'issuing-ca.key')), false);
  assert.equal(statSync(join(ca, 'root/root-ca.key')).mode & 0o777, 0o600);
  assert.equal(existsSync(join(ca, 'root-ca.key')), false, 'the root key is not beside the serving files');
  assert.ok(readFileSync(join(ca, 'acme-nonce.key'), 'utf8').trim().length >= 32);
  assert.match(execFileSync('openssl', ['verify', '-CAfile', join(ca, 'root-ca.pem'), join(ca, 'issuing-ca.pem')], { encoding: 'utf8' }), /OK/);
});

test('the issuing key in the token is sensitive and not extractable', async () => {
  const pkcs11 = ((await import('pkcs11js')) as unknown as { default: typeof Pkcs11Binding }).default;
  const lib = new pkcs11.PKCS11();
  lib.load(token.config.module);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === 'wlca-test')!;
    const session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11.CKU_USER, token.config.pin);
    lib.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: 'issuing-ca' },
    ]);
    const [key] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    assert.ok(key, 'the key is in the token');
    const attrs = lib.C_GetAttributeValue(session, key, [{ type: pkcs11.CKA_SENSITIVE }, { type: pkcs11.CKA_EXTRACTABLE }]);
    assert.deepEqual(
      attrs.map((a) => (a.value as Buffer)[0]),
      [1, 0],
    );
    lib.C_CloseSession(session);
  } finally {
    lib.C_Finalize();
  }
});

test('a PKCS#11 signer for a key that is not there, or not the one certified, is refused with a clear reason', async () => {
  const issuing = new X509Certificate(readFileSync(join(dataDir, 'ca/issuing-ca.pem'))).raw;
  await assert.rejects(openPkcs11Signer({ ...token.config, keyLabel: 'nope' }, issuing), /found no EC key with label "nope"/);
  const root = new X509Certificate(readFileSync(join(dataDir, 'ca/root-ca.pem'))).raw;
  await assert.rejects(openPkcs11Signer(token.config, root), /does not match the issuing certificate/);
  await assert.rejects(openPkcs11Signer({ ...token.config, pin: '0000' }, issuing), /cannot log in to token "wlca-test"/);
});

test('the API issues an X509-SVID signed in the HSM that openssl verifies', async () => {
  const minted = await server.cli(['token', '--namespace', 'payments', '--service-account', 'api']);
  assert.equal(minted.code, 0, minted.stderr);
  const res = await https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.stdout.trim()}` },
    body: JSON.stringify({ csr: buildCsr().pem }),
  });
  assert.equal(res.status, 201, res.body);
  const body = res.json();
  assert.equal(body.spiffe_id, `spiffe://${TD}/ns/payments/sa/api`);
  verifies(body.certificate);
});

test('EST simpleenroll issues through the HSM too', () => {
  const add = spawnSync(process.execPath, [...CLI, 'est', 'user', 'add', 'sensor-1'], {
    cwd: ROOT,
    env: server.env,
    input: 'sensor password\n',
    encoding: 'utf8',
  });
  assert.equal(add.status, 0, add.stderr);
  const csr = opensslCsr(work, 'sensor-1');
  const res = curl(
    [
      '--cacert',
      server.rootFile,
      '-u',
      'sensor-1:sensor password',
      '-H',
      'Content-Type: application/pkcs10',
      '--data-binary',
      '@-',
      `${server.url}/.well-known/est/simpleenroll`,
    ],
    csr.base64,
  );
  assert.equal(res.status, 200, res.text);
  const [leaf] = pkcs7Certificates(work, res.body);
  assert.match(new X509Certificate(leaf!).subjectAltName ?? '', new RegExp(`URI:spiffe://${TD}/device/sensor-1`));
  verifies(leaf!);
});

test('production mode refuses to start with an unencrypted issuing key file, and says how to allow it', async () => {
  const dir = scratchDir('wlca-plain-');
  assert.ok((await initCa(join(dir, 'ca'), { trustDomain: TD })).ok);
  writeFileSync(join(dir, 'policy.yaml'), defaultPolicyYaml({ trustDomain: TD, tokenIssuer: 'https://issuer.test', audience: 'workload-ca' }));
  // Nothing listens on these: the refusal comes before any connection is tried.
  const r = await cli(['serve'], {
    WORKLOAD_CA_DATA_DIR: dir,
    WORKLOAD_CA_PORT: '0',
    DATABASE_URL: 'postgres://127.0.0.1:1/none',
    REDIS_URL: 'redis://127.0.0.1:1',
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /issuing key .* is not encrypted: production mode needs .*\(WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY=true\)/);
  removeDataDir(dir);
});
