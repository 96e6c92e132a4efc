// ACME interoperability with clients nobody here wrote: certbot and lego (Debian's packages,
// installed by scripts/test-setup.sh) and acme-client from npm. Each obtains, renews and revokes
// a certificate, and openssl verifies what it got against the CA's root.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import acme from 'acme-client';
import { startAcmeBench, type AcmeBench } from '../support/acme.js';
import { https } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';

const exec = promisify(execFile);
const TD = 'workload-ca.test';

let bench: AcmeBench;
let work: string;

async function openssl(args: string[]): Promise<string> {
  return (await exec('openssl', args)).stdout;
}

async function verifyChain(file: string): Promise<void> {
  assert.match(await openssl(['verify', '-CAfile', bench.server.rootFile, '-untrusted', file, file]), /: OK/);
}

/** The certificate's ledger row, which exists exactly once and says whether it was revoked. */
async function ledgerRow(cert: X509Certificate): Promise<{ revocation: { reason: number } | null }> {
  const r = await https(bench.server, 'GET', `/v1/admin/certificates/${cert.serialNumber.toLowerCase()}`, {
    headers: { authorization: `Bearer ${bench.adminToken}` },
  });
  assert.equal(r.status, 200, `ledger row for ${cert.serialNumber}: ${r.body}`);
  const rows = JSON.parse(r.body) as { revocation: { reason: number } | null }[];
  assert.equal(rows.length, 1);
  return rows[0]!;
}

async function ledgerHas(cert: X509Certificate): Promise<void> {
  assert.equal((await ledgerRow(cert)).revocation, null);
}

async function revocationReason(cert: X509Certificate): Promise<number | undefined> {
  return (await ledgerRow(cert)).revocation?.reason;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return exec(cmd, args, { env: { ...process.env, ...env }, timeout: 120_000 }).catch((err: { stdout: string; stderr: string; message: string }) => {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout}\n${err.stderr}`);
  });
}

before(async () => {
  work = scratchDir('wlca-acme-clients-');
  bench = await startAcmeBench({ workers: 2 });
  // certbot and lego bind the http-01 port themselves.
  await bench.pauseResponder();
});
after(async () => bench?.stop());

describe('certbot (standalone http-01)', () => {
  it('obtains, renews and revokes a certificate', async () => {
    const { keyId, hmacKey } = await bench.eabViaCli('web');
    const host = `certbot1.web.vm.${TD}`;
    const dir = join(work, 'certbot');
    const common = ['--config-dir', join(dir, 'config'), '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'), '--non-interactive'];
    const env = { REQUESTS_CA_BUNDLE: bench.server.rootFile };
    await run(
      'certbot',
      [
        'certonly',
        ...common,
        '--standalone',
        '--agree-tos',
        '--register-unsafely-without-email',
        '--server',
        bench.directoryUrl,
        '--eab-kid',
        keyId,
        // The key is base64url and may begin with '-': argparse would take it for an option.
        `--eab-hmac-key=${hmacKey}`,
        '--http-01-port',
        String(bench.http01Port),
        '--http-01-address',
        '127.0.0.1',
        '--key-type',
        'ecdsa',
        '--elliptic-curve',
        'secp256r1',
        '-d',
        host,
      ],
      env,
    );
    const live = join(dir, 'config/live', host);
    await verifyChain(join(live, 'fullchain.pem'));
    const first = new X509Certificate(readFileSync(join(live, 'cert.pem')));
    assert.equal(first.subjectAltName, `URI:spiffe://${TD}/vm/web/${host}, DNS:${host}`);
    await ledgerHas(first);

    await run('certbot', ['renew', ...common, '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', host], env);
    const second = new X509Certificate(readFileSync(join(live, 'cert.pem')));
    assert.notEqual(second.serialNumber, first.serialNumber, 'renewal issued a new certificate');
    await verifyChain(join(live, 'fullchain.pem'));
    await ledgerHas(second);

    await run(
      'certbot',
      [
        'revoke',
        ...common,
        '--cert-path',
        join(live, 'cert.pem'),
        '--reason',
        'keycompromise',
        '--no-delete-after-revoke',
        '--server',
        bench.directoryUrl,
      ],
      env,
    );
    assert.equal(await revocationReason(second), 1, 'keyCompromise');
    // A second revocation of the same certificate is refused by the CA. (Debian's certbot 2.1
    // then crashes while printing the error, a known josepy incompatibility with Python 3.11, so
    // the CA's answer is read from certbot's own log.)
    await assert.rejects(
      run('certbot', ['revoke', ...common, '--cert-path', join(live, 'cert.pem'), '--no-delete-after-revoke', '--server', bench.directoryUrl], env),
    );
    assert.match(readFileSync(join(dir, 'logs/letsencrypt.log'), 'utf8'), /urn:ietf:params:acme:error:alreadyRevoked/);
  });
});

describe('lego', () => {
  const legoArgs = (dir: string, eab: { keyId: string; hmacKey: string }, host: string): string[] => [
    '--server',
    bench.directoryUrl,
    '--accept-tos',
    '--email',
    'ops@example.org',
    '--eab',
    '--kid',
    eab.keyId,
    `--hmac=${eab.hmacKey}`,
    '--domains',
    host,
    '--path',
    dir,
    '--key-type',
    'ec256',
  ];
  const env = (): NodeJS.ProcessEnv => ({ LEGO_CA_CERTIFICATES: bench.server.rootFile });

  it('obtains over http-01, renews and revokes', async () => {
    const eab = await bench.eab('web');
    const host = `lego1.web.vm.${TD}`;
    const dir = join(work, 'lego-http');
    const http = ['--http', '--http.port', `127.0.0.1:${bench.http01Port}`];
    await run('lego', [...legoArgs(dir, eab, host), ...http, 'run'], env());
    const crt = join(dir, 'certificates', `${host}.crt`);
    await verifyChain(crt);
    const first = new X509Certificate(readFileSync(crt));
    assert.equal(first.subjectAltName, `URI:spiffe://${TD}/vm/web/${host}, DNS:${host}`);
    await ledgerHas(first);

    await run('lego', [...legoArgs(dir, eab, host), ...http, 'renew', '--days', '400', '--no-random-sleep'], env());
    const second = new X509Certificate(readFileSync(crt));
    assert.notEqual(second.serialNumber, first.serialNumber);
    await verifyChain(crt);
    await ledgerHas(second);

    await run('lego', [...legoArgs(dir, eab, host), 'revoke', '--reason', '4'], env());
    assert.equal(await revocationReason(second), 4, 'superseded');
  });

  it('obtains over tls-alpn-01', async () => {
    const eab = await bench.eab('web');
    const host = `lego2.web.vm.${TD}`;
    const dir = join(work, 'lego-tls');
    await run('lego', [...legoArgs(dir, eab, host), '--tls', '--tls.port', `127.0.0.1:${bench.tlsAlpn01Port}`, 'run'], env());
    const crt = join(dir, 'certificates', `${host}.crt`);
    await verifyChain(crt);
    await ledgerHas(new X509Certificate(readFileSync(crt)));
  });
});

describe('acme-client (npm)', () => {
  it('obtains, renews and revokes from inside the tests', async () => {
    await bench.resumeResponder();
    try {
      acme.axios.defaults.httpsAgent = new Agent({ ca: bench.server.rootPem });
      const { keyId, hmacKey } = await bench.eab('web');
      const client = new acme.Client({
        directoryUrl: bench.directoryUrl,
        accountKey: await acme.crypto.createPrivateEcdsaKey('P-256'),
        externalAccountBinding: { kid: keyId, hmacKey },
      });
      const host = `npm1.web.vm.${TD}`;
      const obtain = async (): Promise<string> => {
        const [key, csr] = await acme.crypto.createCsr({ altNames: [host] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
        const pem = await client.auto({
          csr,
          termsOfServiceAgreed: true,
          challengePriority: ['http-01'],
          // The client's own pre-check resolves through the system resolver, which does not
          // know the test names; the CA's validation (through its configured resolver) is what counts.
          skipChallengeVerification: true,
          challengeCreateFn: async (_authz, challenge, keyAuthorization) => void bench.tokens.set(challenge.token, keyAuthorization),
          challengeRemoveFn: async (_authz, challenge) => void bench.tokens.delete(challenge.token),
        });
        assert.ok(createPrivateKey(key).asymmetricKeyType === 'ec');
        return pem;
      };
      const first = await obtain();
      const renewed = await obtain();
      for (const pem of [first, renewed]) {
        const file = join(work, `npm-${Math.random()}.pem`);
        (await import('node:fs')).writeFileSync(file, pem);
        await verifyChain(file);
        await ledgerHas(new X509Certificate(pem));
      }
      assert.notEqual(new X509Certificate(first).serialNumber, new X509Certificate(renewed).serialNumber);
      await client.revokeCertificate(first, { reason: 4 });
      assert.equal(await revocationReason(new X509Certificate(first)), 4);
      await assert.rejects(client.revokeCertificate(first), /already revoked/i);
    } finally {
      await bench.pauseResponder();
    }
  });
});
