// Where ACME validation may connect, against the real server: names resolve through the test DNS
// server, and listeners on loopback addresses record every connection they get, so "never
// connected" is observed rather than assumed. Also: the start-up refusal of accounts without a
// binding that no rule serves, and the log line of each validation attempt.

import { strict as assert } from 'node:assert';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RawAcmeClient, newAccountKey } from '../support/acme-client.js';
import { startAcmeBench, type AcmeBench } from '../support/acme.js';
import { startServer } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';
import { eventually } from '../support/eventually.js';

const TD = 'workload-ca.test';
const DENIED_LOOPBACK = '127.0.0.2';
const acmeErr = (t: string): string => `urn:ietf:params:acme:error:${t}`;

interface ChallengeResult {
  readonly status: string;
  readonly error?: { readonly type: string; readonly detail: string };
}

/** Orders `host`, answers its `type` challenge (after `prepare`), and waits for the outcome. */
async function attempt(
  c: RawAcmeClient,
  host: string,
  type: 'http-01' | 'tls-alpn-01',
  prepare: (token: string) => void = () => {},
): Promise<ChallengeResult> {
  const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
  assert.equal(o.status, 201, o.text);
  const authzUrl = (o.json!.authorizations as string[])[0]!;
  let authz = (await c.post(authzUrl, '')).json!;
  const ch = (authz.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === type)!;
  prepare(ch.token);
  assert.equal((await c.post(ch.url, {})).status, 200);
  // The validation timeout is 3 s here; a refusal comes back long before it.
  await eventually('the authorization to leave pending', async () => (authz = (await c.post(authzUrl, '')).json!).status !== 'pending', 10_000, 25);
  return (authz.challenges as (ChallengeResult & { type: string })[]).find((x) => x.type === type)!;
}

/** A TCP listener that only counts who connects. */
async function recorder(host: string, port: number): Promise<{ count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { count: () => count, close: () => new Promise((r) => server.close(() => r())) };
}

/** The JSON lines a server wrote with this message. */
function logLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((l) => l.msg === msg);
}

function configFile(yaml: string): string {
  const file = join(scratchDir('wlca-acme-net-'), 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe('ACME validation networks, as configured (loopback allowed, 127.0.0.2 denied)', () => {
  let bench: AcmeBench;
  let c: RawAcmeClient;
  let http01: Awaited<ReturnType<typeof recorder>>;
  let tlsAlpn01: Awaited<ReturnType<typeof recorder>>;
  const host = (h: string): string => `${h}.web.vm.${TD}`;

  before(async () => {
    bench = await startAcmeBench({
      env: {
        // allowedNetworks (127.0.0.0/8, ::1) comes from the bench's environment; the denial and a
        // short timeout from the file, so both ways of setting them are used.
        WORKLOAD_CA_CONFIG: configFile(`acme:\n  validation:\n    deniedNetworks: ["${DENIED_LOOPBACK}/32"]\n    timeoutMs: 3000\n`),
        WORKLOAD_CA_LOG_LEVEL: 'info',
      },
    });
    http01 = await recorder(DENIED_LOOPBACK, bench.http01Port);
    tlsAlpn01 = await recorder(DENIED_LOOPBACK, bench.tlsAlpn01Port);
    for (const h of ['ok1', 'ok2', 'redir1', 'redir2', 'redir3', 'redir4']) bench.dns.setA(host(h), ['127.0.0.1']);
    for (const h of ['deny1', 'deny2', 'deny3']) bench.dns.setA(host(h), [DENIED_LOOPBACK]);
    bench.dns.setA(host('meta1'), ['169.254.169.254']);
    // IPv6 only, and IPv4-mapped: the same metadata address by another spelling.
    bench.dns.setAaaa(host('meta6'), ['::ffff:169.254.169.254']);
    bench.dns.setAaaa(host('meta7'), ['fd00:ec2::254']);
    c = await bench.client('web');
  });
  after(async () => {
    // The bench closes the clients it made.
    await http01?.close();
    await tlsAlpn01?.close();
    await bench?.stop();
  });

  it('validates against an allowed address', async () => {
    const r = await attempt(c, host('ok1'), 'http-01', (t) => bench.tokens.set(t, c.keyAuthorization(t)));
    assert.equal(r.status, 'valid', JSON.stringify(r));
  });

  it('never connects to a denied address, even one allowedNetworks also names (deny wins), with http-01 or tls-alpn-01', async () => {
    for (const [h, type] of [
      ['deny1', 'http-01'],
      ['deny2', 'tls-alpn-01'],
    ] as const) {
      const r = await attempt(c, host(h), type, (t) => bench.tokens.set(t, c.keyAuthorization(t)));
      assert.equal(r.status, 'invalid', JSON.stringify(r));
      assert.equal(r.error?.type, acmeErr('connection'), JSON.stringify(r));
      assert.match(r.error!.detail, /acme\.validation\.deniedNetworks/);
      assert.match(r.error!.detail, new RegExp(`${DENIED_LOOPBACK.replace(/\./g, '\\.')}`));
    }
    assert.equal(http01.count(), 0, 'no connection reached the denied http-01 listener');
    assert.equal(tlsAlpn01.count(), 0, 'no connection reached the denied tls-alpn-01 listener');
  });

  it('refuses a name resolving to a cloud metadata address at once, however it is spelled, naming the setting', async () => {
    for (const [h, type] of [
      ['meta1', 'http-01'],
      ['meta6', 'http-01'],
      ['meta7', 'tls-alpn-01'],
    ] as const) {
      const r = await attempt(c, host(h), type);
      assert.equal(r.error?.type, acmeErr('connection'), `${h}: ${JSON.stringify(r)}`);
      assert.match(r.error!.detail, /Refused to connect/, h);
      assert.match(r.error!.detail, /cloud metadata address, which acme\.validation\.deniedNetworks always includes/, h);
    }
  });

  it('refuses a redirect from an allowed server to a denied address at the hop', async () => {
    const before = bench.connections();
    for (const [from, to] of [
      ['redir1', 'deny3'],
      ['redir2', 'meta1'],
    ] as const) {
      const r = await attempt(c, host(from), 'http-01', (t) =>
        bench.redirects.set(t, `http://${host(to)}:${bench.http01Port}/.well-known/acme-challenge/${t}`),
      );
      assert.equal(r.error?.type, acmeErr('connection'), JSON.stringify(r));
      assert.match(r.error!.detail, new RegExp(`Refused to connect to ${host(to).replace(/\./g, '\\.')}`));
      assert.match(r.error!.detail, /acme\.validation\.deniedNetworks/);
    }
    assert.equal(bench.connections() - before, 2, 'the allowed first hop was fetched, once per challenge');
    assert.equal(http01.count(), 0, 'the denied redirect target was never contacted');
  });

  it('after a redirect, tells neither the status nor the body of a wrong answer', async () => {
    // What a redirect can reach is a page on another host; its status or text is not the client's to read.
    bench.tokens.set('internal-page', '<html>internal admin console</html>');
    const notFound = await attempt(c, host('redir3'), 'http-01', (t) =>
      bench.redirects.set(t, `http://${host('ok2')}:${bench.http01Port}/.well-known/acme-challenge/missing-page`),
    );
    assert.equal(notFound.error?.type, acmeErr('unauthorized'), JSON.stringify(notFound));
    assert.doesNotMatch(notFound.error!.detail, /404/);
    const page = await attempt(c, host('redir4'), 'http-01', (t) =>
      bench.redirects.set(t, `http://${host('ok2')}:${bench.http01Port}/.well-known/acme-challenge/internal-page`),
    );
    assert.equal(page.error?.type, acmeErr('incorrectResponse'), JSON.stringify(page));
    assert.doesNotMatch(page.error!.detail, /internal admin/);
    assert.match(page.error!.detail, /bytes that are not a key authorization/);
  });

  it('logs one line per validation attempt: identifier, challenge type, address, result; no key authorization', async () => {
    const lines = logLines(bench.server.output(), 'ACME validation');
    const ok = lines.filter((l) => l.identifier === host('ok1'));
    assert.equal(ok.length, 1, JSON.stringify(lines));
    assert.equal(ok[0]!.level, 30, 'info');
    assert.equal(ok[0]!.challengeType, 'http-01');
    assert.equal(ok[0]!.address, '127.0.0.1');
    assert.equal(ok[0]!.result, 'valid');
    const denied = lines.filter((l) => l.identifier === host('deny2'));
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!.challengeType, 'tls-alpn-01');
    assert.equal(denied[0]!.address, DENIED_LOOPBACK);
    assert.equal(denied[0]!.result, 'invalid');
    assert.equal(denied[0]!.problem, acmeErr('connection'));
    const wrong = lines.find((l) => l.identifier === host('redir4'))!;
    assert.equal(wrong.problem, acmeErr('incorrectResponse'));
    assert.equal(wrong.detail, undefined, 'details that quote the key authorization stay out of the log');
    assert.ok(!bench.server.output().includes(c.key.thumbprint), 'no key authorization (token.thumbprint) in the log');
  });
});

describe('ACME with no validation settings, and accounts without a binding', () => {
  const dataDir = scratchDir('wlca-acme-defaults-');
  let refusal = '';
  let bench: AcmeBench;
  let c: RawAcmeClient;
  let tlsAlpn01: Awaited<ReturnType<typeof recorder>>;

  before(async () => {
    const eabOff = { WORKLOAD_CA_ACME_EAB_REQUIRED: 'false' };
    try {
      const started = await startServer({ dataDir, env: eabOff });
      await started.stop();
    } catch (err) {
      refusal = (err as Error).message;
    }
    // Do what the message says: add its rule to the policy, and start again.
    const rule = /for example:\n\n((?: {2}.*\n?)+)/.exec(refusal)?.[1];
    if (rule !== undefined) appendFileSync(join(dataDir, 'policy.yaml'), `\n${rule}`);
    bench = await startAcmeBench({
      dataDir,
      env: {
        ...eabOff,
        // The bench allows loopback; an empty value leaves the setting at its default.
        WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '',
        WORKLOAD_CA_CONFIG: configFile('acme:\n  validation:\n    timeoutMs: 3000\n'),
      },
    });
    tlsAlpn01 = await recorder('127.0.0.1', bench.tlsAlpn01Port);
    c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    const account = await c.newAccount();
    assert.equal(account.status, 201, account.text);
  });
  after(async () => {
    await c?.close();
    await tlsAlpn01?.close();
    await bench?.stop();
  });

  it('serve refuses externalAccountRequired: false when no rule serves unbound accounts, and says what to add', async () => {
    assert.match(refusal, /server exited with 1/);
    assert.match(refusal, /acme\.externalAccountRequired is false/);
    assert.match(refusal, /no policy rule matches ACME accounts without a binding/);
    assert.match(refusal, /name: acme-unbound/);
    // With the rule the message suggested, an unbound account can order.
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: `vm1.acme.${TD}` }] });
    assert.equal(o.status, 201, o.text);
  });

  it('refuses loopback by default and never connects to it, with http-01 or tls-alpn-01', async () => {
    const before = bench.connections();
    const r = await attempt(c, `lo1.acme.${TD}`, 'http-01', (t) => bench.tokens.set(t, c.keyAuthorization(t)));
    assert.equal(r.status, 'invalid', JSON.stringify(r));
    assert.equal(r.error?.type, acmeErr('connection'));
    assert.match(r.error!.detail, /127\.0\.0\.1 is a loopback address, allowed only when acme\.validation\.allowedNetworks names it/);
    const t = await attempt(c, `lo2.acme.${TD}`, 'tls-alpn-01');
    assert.equal(t.error?.type, acmeErr('connection'), JSON.stringify(t));
    assert.match(t.error!.detail, /acme\.validation\.allowedNetworks/);
    assert.equal(bench.connections(), before, 'the http-01 responder on loopback was never contacted');
    assert.equal(tlsAlpn01.count(), 0, 'the tls-alpn-01 listener on loopback was never contacted');
  });
});
