// Connections and secrets, against the real server over real TLS: slow and silent clients are
// closed within the configured limits, TLS 1.2 offers only ECDHE with AEAD suites, and
// everything under the data directory is private whatever the umask the CA was started with.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { buildCsr } from '../support/csr.js';
import { https, removeDataDir, startServer, type TestServer } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';
import { eventually } from '../support/eventually.js';

const HEADERS_MS = 2000;
const HANDSHAKE_MS = 2000;
const CHECK_MS = 250;
/** Scheduling slack on a loaded 2-core machine; the old defaults (60 s, 120 s) are far beyond it. */
const SLACK_MS = 1500;

const dataDir = scratchDir('wlca-conn-');
const outside = scratchDir('wlca-conn-outside-');
let server: TestServer;

before(async () => {
  // What an older version, or an operator's umask 022, leaves behind.
  chmodSync(dataDir, 0o755);
  mkdirSync(join(dataDir, 'backups/nested'), { recursive: true });
  chmodSync(join(dataDir, 'backups'), 0o755);
  chmodSync(join(dataDir, 'backups/nested'), 0o775);
  writeFileSync(join(dataDir, 'backups/old-issuing-ca.key'), 'not really a key\n');
  chmodSync(join(dataDir, 'backups/old-issuing-ca.key'), 0o644);
  writeFileSync(join(dataDir, 'backups/nested/eab.txt'), 'hmac\n');
  chmodSync(join(dataDir, 'backups/nested/eab.txt'), 0o666);
  // A link to the operator's file elsewhere: neither followed nor changed.
  writeFileSync(join(outside, 'shared.pem'), 'public\n');
  chmodSync(join(outside, 'shared.pem'), 0o644);
  symlinkSync(join(outside, 'shared.pem'), join(dataDir, 'shared.pem'));

  // The child inherits this process's umask: start the CA the way a default shell would.
  process.umask(0o022);
  server = await startServer({
    dataDir,
    env: {
      WORKLOAD_CA_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      WORKLOAD_CA_TLS_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_MS),
      WORKLOAD_CA_CONNECTIONS_CHECK_INTERVAL_MS: String(CHECK_MS),
    },
  });
  startScenarios();
});

after(async () => {
  await server?.stop();
  removeDataDir(dataDir);
  removeDataDir(outside);
});

/** Resolves with how long the socket stayed open, or null if it is still open after `waitMs`. */
function closedAfter(socket: Socket, since: number, waitMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, waitMs);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
  });
}

function tlsClient(): Promise<{ socket: ReturnType<typeof tlsConnect>; at: number; received: () => string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = tlsConnect({ host: '127.0.0.1', port: server.port, ca: server.rootPem, servername: 'localhost' }, () =>
      resolve({ socket, at: Date.now(), received: () => data }),
    );
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.once('error', reject);
  });
}

const LIMIT_MS = HEADERS_MS + CHECK_MS + SLACK_MS;

/**
 * Each scenario waits on the server's clocks, not on the CPU, so all of them start together
 * right after the server does and the tests below collect their outcomes: the suite pays for
 * the slowest one, not for their sum.
 */
const SCENARIOS = {
  async trickle() {
    const { socket, at, received } = await tlsClient();
    const request = `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(200)}`;
    let i = 0;
    const drip = () => socket.writable && socket.write(request[i++ % request.length]!);
    // The first byte at once: Node restarts the headers clock when a request's first byte arrives.
    drip();
    const trickle = setInterval(drip, 1000);
    const open = await closedAfter(socket, at, LIMIT_MS + 2000);
    clearInterval(trickle);
    assert.notEqual(open, null, `still open after ${LIMIT_MS + 2000} ms`);
    assert.ok(open! <= LIMIT_MS, `closed after ${open} ms; limit ${LIMIT_MS}`);
    assert.match(received(), /^HTTP\/1\.1 408 /);
  },

  async silentAfterHandshake() {
    const { socket, at } = await tlsClient();
    const open = await closedAfter(socket, at, LIMIT_MS + 2000);
    assert.notEqual(open, null, `still open after ${LIMIT_MS + 2000} ms`);
    assert.ok(open! <= LIMIT_MS, `closed after ${open} ms; limit ${LIMIT_MS}`);
  },

  async neverHandshakes() {
    const at = Date.now();
    const socket = tcpConnect(server.port, '127.0.0.1');
    const open = await closedAfter(socket, at, HANDSHAKE_MS + SLACK_MS + 2000);
    assert.notEqual(open, null, 'still open');
    assert.ok(open! <= HANDSHAKE_MS + SLACK_MS, `dropped after ${open} ms`);
  },

  async keptAlive() {
    const { socket, received } = await tlsClient();
    const get = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const responses = () => received().match(/HTTP\/1\.1 200 /g)?.length ?? 0;
    const waitFor = (n: number) =>
      eventually(
        () => `${n} responses in:\n${received()}`,
        () => responses() >= n,
        5000,
      );
    socket.write(get);
    await waitFor(1);
    assert.equal(responses(), 1);
    // Between requests the keep-alive limit (65 s by default) applies, not the headers limit. The
    // wait is what is tested: the connection sits idle past the headers limit and its check.
    await new Promise((r) => setTimeout(r, HEADERS_MS + CHECK_MS + 500));
    assert.ok(!socket.destroyed, 'closed while idle between requests');
    socket.write(get);
    await waitFor(2);
    assert.equal(responses(), 2, received());
    socket.destroy();
  },
};

/** Started in `before`; each settles to the error its scenario threw, or null. */
let outcomes: Record<keyof typeof SCENARIOS, Promise<unknown>>;

function startScenarios(): void {
  const settle = (f: () => Promise<void>) =>
    f().then(
      () => null,
      (err: unknown) => err ?? new Error('failed'),
    );
  outcomes = {
    trickle: settle(SCENARIOS.trickle),
    silentAfterHandshake: settle(SCENARIOS.silentAfterHandshake),
    neverHandshakes: settle(SCENARIOS.neverHandshakes),
    keptAlive: settle(SCENARIOS.keptAlive),
  };
}

const outcome = async (name: keyof typeof SCENARIOS) => {
  const err = await outcomes[name];
  if (err !== null) throw err;
};

describe('connection limits', () => {
  test('a client trickling its headers one byte a second is closed within the headers limit', () => outcome('trickle'));
  test('a client that completes the TLS handshake and sends nothing is closed within the headers limit', () => outcome('silentAfterHandshake'));
  test('a client that never starts the TLS handshake is dropped within the handshake limit', () => outcome('neverHandshakes'));
  test('a kept-alive connection idle past the headers limit still serves its next request', () => outcome('keptAlive'));
});

const run = promisify(execFile);

/** One TLS 1.2 handshake offering only `cipher`; the suite negotiated, or null when refused. */
async function handshake12(cipher: string): Promise<{ cipher: string; output: string } | null> {
  const args = [
    's_client',
    '-connect',
    `127.0.0.1:${server.port}`,
    '-servername',
    'localhost',
    '-tls1_2',
    '-cipher',
    `${cipher}:@SECLEVEL=0`,
    '-CAfile',
    server.rootFile,
  ];
  try {
    const child = run('openssl', args, { timeout: 10_000 });
    child.child.stdin?.end();
    const { stdout } = await child;
    const m = /Cipher is (\S+)/.exec(stdout);
    return m && m[1] !== '(NONE)' ? { cipher: m[1]!, output: stdout } : null;
  } catch {
    return null;
  }
}

describe('TLS', () => {
  test('TLS 1.2 refuses CBC suites and accepts ECDHE-ECDSA-AES128-GCM-SHA256 with the ECDSA server certificate', async () => {
    for (const cbc of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-SHA']) {
      assert.equal(await handshake12(cbc), null, `${cbc} was accepted`);
    }
    const gcm = await handshake12('ECDHE-ECDSA-AES128-GCM-SHA256');
    assert.equal(gcm?.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    assert.match(gcm!.output, /Peer signature type: ECDSA/);
    assert.match(gcm!.output, /Verify return code: 0 \(ok\)/);
    const cert = new X509Certificate(readFileSync(join(dataDir, 'tls/server.pem')));
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  test('of every TLS 1.2 suite OpenSSL knows, only ECDHE-ECDSA with AES-GCM or ChaCha20-Poly1305 is accepted', async () => {
    const { stdout } = await run('openssl', ['ciphers', '-tls1_2', '-s', 'ALL:COMPLEMENTOFALL:@SECLEVEL=0']);
    const all = stdout
      .trim()
      .split(':')
      .filter((c) => !c.startsWith('TLS_'));
    assert.ok(all.length > 30, `only ${all.length} suites to try`);
    const accepted: string[] = [];
    // A few at a time: each is one short openssl process.
    for (let i = 0; i < all.length; i += 8) {
      const batch = all.slice(i, i + 8);
      const results = await Promise.all(batch.map(handshake12));
      results.forEach((r, j) => r && accepted.push(batch[j]!));
    }
    assert.deepEqual(accepted.sort(), ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
  });

  test('TLS 1.3 keeps its defaults, and curl connects with TLS 1.3 and with TLS 1.2', async () => {
    const s = run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-tls1_3', '-CAfile', server.rootFile]);
    s.child.stdin?.end();
    assert.match((await s).stdout, /New, TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/);
    for (const version of [['--tlsv1.3'], ['--tlsv1.2', '--tls-max', '1.2']]) {
      const { stdout } = await run('curl', [
        '-sS',
        '--cacert',
        server.rootFile,
        ...version,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `https://localhost:${server.port}/healthz`,
      ]);
      assert.equal(stdout, '200', version.join(' '));
    }
  });
});

describe('data directory', () => {
  test('everything under it is 0700 or 0600 under umask 022, and what was looser is tightened with one warning', async () => {
    // Issue once so the embedded ledger has written its tables and the audit row.
    const token = await server.cli(['token', '--namespace', 'default', '--service-account', 'demo']);
    assert.equal(token.code, 0, token.stderr);
    const issued = await https(server, 'POST', '/v1/svids', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token.stdout.trim()}` },
      body: JSON.stringify({ csr: buildCsr().pem }),
    });
    assert.equal(issued.status, 201, issued.body);
    const loose: string[] = [];
    let files = 0;
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const st = lstatSync(path);
        if (st.isSymbolicLink()) continue;
        const mode = st.mode & 0o777;
        if (st.isDirectory()) {
          if (mode !== 0o700) loose.push(`${path} ${mode.toString(8)}`);
          walk(path);
        } else {
          files++;
          if (mode !== 0o600) loose.push(`${path} ${mode.toString(8)}`);
        }
      }
    };
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    walk(dataDir);
    assert.ok(files > 10, `only ${files} files under the data directory`);
    assert.deepEqual(loose, []);
    assert.ok(readdirSync(join(dataDir, 'ledger')).length > 0);
    // The operator's file behind the link is untouched.
    assert.equal(statSync(join(outside, 'shared.pem')).mode & 0o777, 0o644);

    const warnings = server
      .output()
      .split('\n')
      .filter((l) => l.includes('tightened permissions'));
    assert.equal(warnings.length, 1, server.output());
    assert.match(warnings[0]!, /^warning: tightened permissions of 5 entries under /);
    for (const named of [
      '. 0755->0700',
      'backups 0755->0700',
      'backups/old-issuing-ca.key 0644->0600',
      'backups/nested 0775->0700',
      'backups/nested/eab.txt 0666->0600',
    ]) {
      assert.ok(warnings[0]!.includes(named), `${named} not in ${warnings[0]}`);
    }
  });
});
