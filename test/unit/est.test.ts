// The parts of EST that stand alone: the RFC 8951 body codec, certs-only PKCS#7 (read back by
// openssl), the scrypt credential store, client-certificate chains to label trust anchors, the
// CSR writer serverkeygen uses, csrattrs, the reply writer's header names, registration
// authorities, and the policy features gateway mode rests on (subtree grants, EST requester
// matchers).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTcp } from 'node:net';
import Fastify from 'fastify';
import { loadConfig } from '../../src/config/config.js';
import { TrustAnchors } from '../../src/http/est/anchors.js';
import type { EstRequester } from '../../src/http/est/authenticate.js';
import { ID_KP_CMC_RA, registrationAuthority } from '../../src/http/est/registration-authority.js';
import { sendEstError } from '../../src/http/est/reply.js';
import { canonicalHeaderName, writeEstReply } from '../../src/http/est/writer.js';
import { csrAttributes } from '../../src/http/est/csrattrs.js';
import { BasicUsers, addUser, hashPassword, removeUser, verifyPassword } from '../../src/http/est/users.js';
import { VerifiedCredentials } from '../../src/http/est/verified-credentials.js';
import { checkTransferEncoding, decodeBase64Body, encodeBase64Body, mediaType } from '../../src/http/est/wire.js';
import { encodeCsr, subjectOfCsr } from '../../src/pki/csr-encode.js';
import { parseCsr, verifyProofOfPossession } from '../../src/pki/csr.js';
import { certsOnly } from '../../src/pki/pkcs7.js';
import { evaluate, parsePolicy, type Decision, type Policy, type PolicyInput, type Requester } from '../../src/policy/index.js';
import { opensslLeaf, opensslRoot, type PemFiles } from '../support/openssl-pki.js';
import { scratchDir } from '../support/scratch.js';

const dir = scratchDir('est-unit-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('RFC 8951 bodies', () => {
  const der = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  const b64 = der.toString('base64');

  test('base64 with CRLF, LF or no line breaks decodes to the same bytes', () => {
    for (const text of [b64, b64.replace(/(.{64})/g, '$1\n'), b64.replace(/(.{76})/g, '$1\r\n'), ` ${b64}\n`]) {
      const r = decodeBase64Body(Buffer.from(text));
      assert.ok(r.ok, text);
      assert.ok(r.der.equals(der));
    }
  });

  test('anything else is a 400: foreign characters, missing padding, non-canonical bits, an empty body', () => {
    const bad = [`${b64.slice(0, 10)}*${b64.slice(11)}`, b64.slice(0, -1), 'QQ=R', 'QR==', '', '\r\n', '-----BEGIN CERTIFICATE REQUEST-----'];
    for (const text of bad) {
      const r = decodeBase64Body(text);
      assert.equal(r.ok, false, JSON.stringify(text));
      if (!r.ok) assert.equal(r.error.status, 400);
    }
  });

  test('replies are base64 in lines of at most 64 characters', () => {
    const out = encodeBase64Body(der);
    assert.ok(out.split('\r\n').every((l) => l.length <= 64));
    assert.ok(Buffer.from(out, 'base64').equals(der));
  });

  test('media types and transfer encodings', () => {
    assert.equal(mediaType('Application/PKCS10; charset=x'), 'application/pkcs10');
    assert.equal(mediaType(undefined), null);
    assert.equal(checkTransferEncoding(undefined), null);
    assert.equal(checkTransferEncoding('BASE64'), null);
    assert.equal(checkTransferEncoding('binary')?.status, 400);
  });
});

describe('certs-only PKCS#7', () => {
  test('openssl reads every certificate back, byte for byte', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const f of [a, b]) opensslRoot(f, `/CN=${f.slice(-1)}`, { days: 1 });
    const certs = [a, b].map((f) => new X509Certificate(readFileSync(`${f}.pem`)));
    writeFileSync(join(dir, 'p7.der'), certsOnly(certs.map((c) => c.raw)));
    const printed = openssl(['pkcs7', '-inform', 'DER', '-in', join(dir, 'p7.der'), '-print_certs']);
    const back = (printed.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
    assert.deepEqual(new Set(back.map((c) => c.fingerprint256)), new Set(certs.map((c) => c.fingerprint256)));
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', join(dir, 'p7.der')]);
    assert.match(parsed, /:pkcs7-signedData/);
    assert.match(parsed, /:pkcs7-data/);
  });
});

describe('Basic credentials', () => {
  test('scrypt hashes verify the right password only, and carry their parameters', async () => {
    const h = await hashPassword('a long passphrase');
    assert.match(h, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.notEqual(h, await hashPassword('a long passphrase'), 'salted');
    assert.equal(await verifyPassword('a long passphrase', h), true);
    assert.equal(await verifyPassword('a long passphrasE', h), false);
    assert.equal(await verifyPassword('x', 'md5$whatever'), false);
  });

  test('the users file: mode 0600, hashes only, re-read when it changes', async () => {
    const file = join(dir, 'users.json');
    const users = new BasicUsers(file);
    assert.equal(await users.verify('gw-1', 'twelve chars!'), false, 'no file: nobody');
    assert.deepEqual(await addUser(file, 'gw-1', 'twelve chars!'), { ok: true, replaced: false });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(!readFileSync(file, 'utf8').includes('twelve chars!'));
    assert.equal(await users.verify('gw-1', 'twelve chars!'), true);
    assert.equal(await users.verify('gw-1', 'wrong chars!!'), false);
    assert.equal(await users.verify('gw-2', 'twelve chars!'), false);
    assert.equal(removeUser(file, 'gw-1').ok, true);
    assert.equal(await users.verify('gw-1', 'twelve chars!'), false, 'removal takes effect without a restart');
    assert.equal((await addUser(file, 'a:b', 'twelve chars!')).ok, false, 'a colon would split the Basic credentials');
    assert.equal((await addUser(file, 'gw-3', 'short')).ok, false);
  });
});

describe('remembered Basic credentials', () => {
  const correct = 'twelve chars!';

  test('the map is keyed by an HMAC under a per-process key: it holds neither the password nor a hash that outlives the process', () => {
    const a = new VerifiedCredentials({ ttlMs: 60_000, maxEntries: 10 });
    const b = new VerifiedCredentials({ ttlMs: 60_000, maxEntries: 10 });
    const id = a.idOf('gw-1', correct);
    assert.ok(!id.includes(correct) && !Buffer.from(id, 'base64url').toString('latin1').includes(correct));
    assert.notEqual(id, b.idOf('gw-1', correct), 'another process, another key');
    assert.notEqual(id, createHash('sha256').update(`gw-1:${correct}`).digest('base64url'));
    assert.notEqual(a.idOf('gw-1x', 'y'), a.idOf('gw-1', 'xy'), 'the split between name and password is part of the key');
  });

  test('an entry lasts its TTL, must match the stored hash it was verified against, and the oldest goes beyond the bound', () => {
    let now = 0;
    const m = new VerifiedCredentials({ ttlMs: 1000, maxEntries: 2, now: () => now });
    m.remember('gw-1', correct, 'hash-1');
    assert.equal(m.holds('gw-1', correct, 'hash-1'), true);
    assert.equal(m.holds('gw-1', 'twelve chars?', 'hash-1'), false, 'another password');
    assert.equal(m.holds('gw-1', correct, 'hash-2'), false, 'the password was changed');
    assert.equal(m.holds('gw-1', correct, 'hash-1'), false, 'and the stale entry is gone');
    m.remember('gw-1', correct, 'hash-1');
    now = 1000;
    assert.equal(m.holds('gw-1', correct, 'hash-1'), false, 'expired');
    for (const n of ['a', 'b', 'c']) m.remember(n, correct, 'h');
    assert.equal(m.size, 2);
    assert.equal(m.holds('a', correct, 'h'), false, 'the oldest was dropped');
    assert.equal(m.holds('c', correct, 'h'), true);
  });

  test('BasicUsers hashes a repeated credential once; a wrong password, a changed password and a removed user are decided by scrypt again', async () => {
    const file = join(dir, 'users-remembered.json');
    const users = new BasicUsers(file, { cacheSeconds: 300, hashConcurrency: 1 });
    await addUser(file, 'gw-r', correct);
    assert.equal(await users.verify('gw-r', correct), true);
    assert.equal(await users.verify('gw-r', correct), true);
    assert.equal(users.hashed, 1, 'the repeat came from memory');
    assert.equal(await users.verify('gw-r', 'wrong chars!!'), false);
    assert.equal(await users.verify('gw-r', 'wrong chars!!'), false);
    assert.equal(users.hashed, 3, 'a failure is never remembered');
    await addUser(file, 'gw-r', 'another twelve');
    assert.equal(await users.verify('gw-r', correct), false, 'the old password stops working at once');
    assert.equal(await users.verify('gw-r', 'another twelve'), true);
    removeUser(file, 'gw-r');
    assert.equal(await users.verify('gw-r', 'another twelve'), false, 'removed: refused though remembered');
    assert.equal(users.hashed, 6, 'both decided by scrypt (the removed user against the decoy)');
  });

  test('hashing waits in its own queue, and a remembered credential does not wait behind it', async () => {
    const file = join(dir, 'users-queue.json');
    const users = new BasicUsers(file, { cacheSeconds: 300, hashConcurrency: 1 });
    await addUser(file, 'gw-q', correct);
    assert.equal(await users.verify('gw-q', correct), true);
    let wrongDone = 0;
    const wrong = Array.from({ length: 3 }, (_, i) => users.verify('gw-q', `wrong chars!${i}`).then((ok) => (wrongDone++, ok)));
    await new Promise((r) => setImmediate(r));
    assert.equal(users.hashesQueued, 2, 'one hash at a time: two wait');
    assert.equal(await users.verify('gw-q', correct), true);
    assert.equal(wrongDone, 0, 'answered before any queued hash finished');
    assert.deepEqual(await Promise.all(wrong), [false, false, false]);
    assert.equal(users.hashed, 4);
    const fresh = new BasicUsers(file, { cacheSeconds: 300, hashConcurrency: 1 });
    assert.deepEqual(await Promise.all(Array.from({ length: 8 }, () => fresh.verify('gw-q', correct))), Array(8).fill(true));
    assert.equal(fresh.hashed, 1, 'eight at once before any was remembered: one hash');
  });
});

describe('trust anchors for client certificates', () => {
  const extensions = {
    ca: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n',
    client: 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n',
    server: 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n',
  };
  const root = opensslRoot(join(dir, 'troot'), '/CN=Factory Root', { days: 1, keyUsage: 'keyCertSign' });
  const issue = (name: string, issuer: PemFiles, kind: keyof typeof extensions): X509Certificate => {
    const made = opensslLeaf(join(dir, name), `/CN=${name}`, issuer, { serial: '7', days: 1, extensions: extensions[kind] });
    return new X509Certificate(readFileSync(made.cert));
  };
  const intermediate = issue('line-7', root, 'ca');
  const device = issue('dev-1', { cert: join(dir, 'line-7.pem'), key: join(dir, 'line-7.key') }, 'client');
  const serverOnly = issue('dev-2', root, 'server');
  const anchors = TrustAnchors.fromPem(readFileSync(root.cert, 'utf8'));

  test('a chain through an intermediate the client sent reaches the anchor', () => {
    const r = anchors.verify(device, [intermediate]);
    assert.ok(r.ok);
    // The window is the narrowest over the whole chain, the anchor included.
    const rootCert = anchors.certificates[0]!;
    assert.equal(r.notAfter, Math.min(...[device, intermediate, rootCert].map((c) => Date.parse(c.validTo))));
    assert.equal(r.notBefore, Math.max(...[device, intermediate, rootCert].map((c) => Date.parse(c.validFrom))));
  });

  test('without the intermediate, with no anchors, for a CA or a server-only certificate: refused', () => {
    const alone = anchors.verify(device, []);
    assert.ok(!alone.ok && /does not chain/.test(alone.reason));
    assert.equal(new TrustAnchors([]).verify(device, [intermediate]).ok, false);
    assert.equal(anchors.verify(intermediate, []).ok, false);
    const r = anchors.verify(serverOnly, []);
    assert.ok(!r.ok && /client authentication/.test(r.reason));
  });
});

describe('serverkeygen CSRs and csrattrs', () => {
  test('encodeCsr writes a request the strict parser accepts, signed by the new key, with the asked names', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const subject = Buffer.from([0x30, 0x00]);
    const der = encodeCsr(key.privateKey, subject, {
      uris: ['spiffe://example.org/device/a'],
      dnsNames: ['a.example.org'],
      ipAddresses: ['10.0.0.7', 'fd00::1'],
    });
    const parsed = parseCsr(der);
    assert.ok(parsed.ok);
    assert.ok(verifyProofOfPossession(parsed.csr));
    assert.deepEqual(parsed.csr.requested, {
      uris: ['spiffe://example.org/device/a'],
      dnsNames: ['a.example.org'],
      ipAddresses: ['10.0.0.7', 'fd00::1'],
    });
    assert.ok(subjectOfCsr(der).equals(subject));
    writeFileSync(join(dir, 'skg.der'), der);
    const checked = spawnSync('openssl', ['req', '-inform', 'DER', '-in', join(dir, 'skg.der'), '-verify', '-noout'], { encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stdout + checked.stderr, /verify OK/);
  });

  test('csrattrs follows the guardrails', () => {
    writeFileSync(join(dir, 'attrs.der'), csrAttributes(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048']));
    const text = openssl(['asn1parse', '-inform', 'DER', '-in', join(dir, 'attrs.der')]);
    assert.match(text, /:challengePassword/);
    assert.match(text, /:prime256v1[\s\S]*:secp384r1/);
    assert.match(text, /:rsaEncryption[\s\S]*INTEGER\s+:0800/);
    writeFileSync(join(dir, 'a2.der'), csrAttributes(['ecdsa-p256']));
    const p256 = openssl(['asn1parse', '-inform', 'DER', '-in', join(dir, 'a2.der')]);
    assert.doesNotMatch(p256, /rsaEncryption|secp384r1/);
  });
});

describe('policy for EST', () => {
  const TD = 'example.org';
  const load = (rules: string): Policy => {
    const r = parsePolicy(`version: 1\nguardrails:\n  trustDomain: ${TD}\nrules:\n${rules}`);
    if (!r.ok) assert.fail(r.problems.map((p) => `${p.line} ${p.path}: ${p.message}`).join('\n'));
    return r.policy;
  };
  const estClient = (over: Partial<Extract<Requester, { kind: 'est-client' }>> = {}): Requester => ({
    kind: 'est-client',
    name: 'gw-7',
    label: 'gateways',
    certificate: { subject: 'O=Acme, CN=gw-7', sans: ['DNS:gw-7.acme.example'] },
    auth: 'trust-anchor',
    spiffeId: null,
    ...over,
  });
  const input = (requester: Requester, spiffeId: string | null): PolicyInput => ({
    path: 'est',
    requester,
    keyAlgorithm: 'ecdsa-p256',
    spiffeId,
    dnsNames: [],
    ipAddresses: [],
    lifetimeSeconds: null,
  });
  const allowed = (d: Decision) => {
    assert.ok(d.allowed, d.allowed ? '' : d.reason);
    return d;
  };
  const denied = (d: Decision, code: string, reason: RegExp) => {
    assert.ok(!d.allowed);
    assert.equal(d.code, code);
    assert.match(d.reason, reason);
  };

  const gatewayRules = `  - name: fleet
    match: { est: { label: gateways, auth: [trust-anchor], subject: "O=Acme, *", san: "DNS:*.acme.example" } }
    grant: { spiffeId: 'spiffe://{trustDomain}/gateway/{requester.name}/device/*' }
  - name: svid-fleet
    match: { est: { label: fleet, auth: [svid], spiffeId: "spiffe://${TD}/gateway/*" } }
    grant: { spiffeId: '{requester.spiffeId}/*' }
  - name: renewal
    match: { est: { auth: [svid] } }
    grant: { spiffeId: '{requester.spiffeId}' }
`;

  test('a subtree grant gives any ID strictly under the prefix, and nothing else', () => {
    const p = load(gatewayRules);
    assert.equal(p.rules[0]!.grant.spiffeIdScope, 'subtree');
    assert.equal(p.rules[2]!.grant.spiffeIdScope, 'exact');
    const d = allowed(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-7/device/t-1`)));
    assert.equal(d.spiffeId, `spiffe://${TD}/gateway/gw-7/device/t-1`);
    assert.equal(allowed(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-7/device/a/b`))).rule, 'fleet');
    denied(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-8/device/t-1`)), 'identity-not-allowed', /only IDs under/);
    denied(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-7/device`)), 'identity-not-allowed', /only IDs under/);
    denied(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-7/device/../../admin`)), 'identity-not-allowed', /malformed/);
    denied(evaluate(p, input(estClient(), `spiffe://${TD}/gateway/gw-7/device//x`)), 'identity-not-allowed', /malformed/);
    denied(evaluate(p, input(estClient(), null)), 'identity-not-allowed', /must name one/);
  });

  test("EST matchers: auth kind, subject and SAN globs, the client SVID's ID", () => {
    const p = load(gatewayRules);
    // A Basic client never matches a trust-anchor rule.
    denied(
      evaluate(p, input(estClient({ auth: 'basic', certificate: null }), `spiffe://${TD}/gateway/gw-7/device/x`)),
      'no-matching-rule',
      /no rule/,
    );
    denied(
      evaluate(
        p,
        input(estClient({ certificate: { subject: 'O=Evil, CN=gw-7', sans: ['DNS:gw-7.acme.example'] } }), `spiffe://${TD}/gateway/gw-7/device/x`),
      ),
      'no-matching-rule',
      /no rule/,
    );
    denied(
      evaluate(p, input(estClient({ certificate: { subject: 'O=Acme, CN=gw-7', sans: [] } }), `spiffe://${TD}/gateway/gw-7/device/x`)),
      'no-matching-rule',
      /no rule/,
    );
    // A gateway holding an SVID enrolls under its own ID on the "fleet" label, and renews itself elsewhere.
    const gwFacts = { auth: 'svid', spiffeId: `spiffe://${TD}/gateway/gw-7`, certificate: null } as const;
    const gw = estClient({ ...gwFacts, label: 'fleet' });
    assert.equal(allowed(evaluate(p, input(gw, `spiffe://${TD}/gateway/gw-7/d-1`))).rule, 'svid-fleet');
    denied(evaluate(p, input(gw, `spiffe://${TD}/gateway/gw-7`)), 'identity-not-allowed', /only IDs under/);
    const renew = allowed(evaluate(p, input(estClient({ ...gwFacts, label: null }), `spiffe://${TD}/gateway/gw-7`)));
    assert.equal(renew.rule, 'renewal');
    // An EST client without an SVID has no {requester.spiffeId}.
    const noId = load(`  - name: renewal\n    match: { est: {} }\n    grant: { spiffeId: '{requester.spiffeId}' }\n`);
    denied(evaluate(noId, input(estClient({ spiffeId: null }), null)), 'identity-not-allowed', /no SPIFFE ID/);
  });

  test('a "*" anywhere but the end of the template, or "none" as an auth kind, is a load error', () => {
    const bad = (rules: string, path: RegExp) => {
      const r = parsePolicy(`version: 1\nguardrails:\n  trustDomain: ${TD}\nrules:\n${rules}`);
      assert.ok(!r.ok);
      assert.ok(
        r.problems.some((x) => path.test(x.path)),
        JSON.stringify(r.problems),
      );
    };
    bad(`  - name: a\n    match: { est: {} }\n    grant: { spiffeId: 'spiffe://{trustDomain}/*/device' }\n`, /grant\.spiffeId/);
    bad(`  - name: a\n    match: { est: {} }\n    grant: { spiffeId: 'spiffe://{trustDomain}/x/**' }\n`, /grant\.spiffeId/);
    bad(`  - name: a\n    match: { est: { auth: [none] } }\n    grant: { spiffeId: 'spiffe://{trustDomain}/x' }\n`, /match\.est\.auth/);
  });
});

describe('the EST reply writer', () => {
  /** The raw bytes of one plain-HTTP response: what a case-sensitive client reads. */
  function rawGet(port: number, path: string): Promise<{ head: string[]; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      let raw = '';
      socket.on('data', (c: Buffer) => (raw += c.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, body] = raw.split('\r\n\r\n') as [string, string];
        resolve({ head: head.split('\r\n'), body });
      });
    });
  }

  test('canonical names on the wire, for its own headers and those set earlier; onResponse hooks still see the status', async () => {
    const app = Fastify();
    const seen: number[] = [];
    // As a request logger would: set a header before the handler, read the status after the reply.
    app.addHook('onRequest', async (_req, reply) => void reply.header('x-request-id', 'r-1'));
    app.addHook('onResponse', async (_req, reply) => void seen.push(reply.statusCode));
    app.get('/busy', async (_req, reply) => sendEstError(reply, { status: 503, message: 'ledger away', retryAfterSeconds: 7 }));
    app.get('/who', async (_req, reply) => sendEstError(reply, { status: 401, message: 'who are you' }));
    app.get('/ok', async (_req, reply) =>
      writeEstReply(reply, 200, { 'content-type': 'application/csrattrs', 'content-transfer-encoding': 'base64' }, 'MAA=\r\n'),
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const busy = await rawGet(port, '/busy');
      assert.equal(busy.head[0], 'HTTP/1.1 503 Service Unavailable');
      for (const line of ['Retry-After: 7', 'Content-Type: text/plain; charset=utf-8', 'X-Request-Id: r-1', 'Content-Length: 12'])
        assert.ok(busy.head.includes(line), `${line} in ${busy.head.join(' | ')}`);
      assert.equal(busy.body, 'ledger away\n');
      const who = await rawGet(port, '/who');
      assert.ok(who.head.includes('WWW-Authenticate: Basic realm="workload-ca EST", charset="UTF-8"'), who.head.join(' | '));
      const ok = await rawGet(port, '/ok');
      for (const line of ['Content-Type: application/csrattrs', 'Content-Transfer-Encoding: base64', 'Content-Length: 6'])
        assert.ok(ok.head.includes(line), `${line} in ${ok.head.join(' | ')}`);
      assert.ok(!ok.head.some((l) => /^transfer-encoding/i.test(l)), 'never chunked');
      for (const line of [busy, who, ok].flatMap((r) => r.head.slice(1))) assert.match(line, /^[A-Z][A-Za-z0-9]*(-[A-Z][A-Za-z0-9]*)*: /);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, [503, 401, 200]);
    } finally {
      await app.close();
    }
  });

  test('canonicalHeaderName', () => {
    assert.equal(canonicalHeaderName('content-transfer-encoding'), 'Content-Transfer-Encoding');
    assert.equal(canonicalHeaderName('www-authenticate'), 'WWW-Authenticate');
    assert.equal(canonicalHeaderName('RETRY-AFTER'), 'Retry-After');
  });
});

describe('registration authorities', () => {
  const root = opensslRoot(join(dir, 'ra-root'), '/CN=RA Root', { days: 1, keyUsage: 'keyCertSign' });
  const issue = (name: string, eku: string): X509Certificate => {
    const extensions = `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=${eku}\nsubjectAltName=URI:spiffe://example.org/ra/${name}\n`;
    const made = opensslLeaf(join(dir, name), `/O=Acme/CN=${name}`, root, { serial: '0x2a', days: 1, extensions });
    return new X509Certificate(readFileSync(made.cert));
  };
  const requesterFor = (cert: X509Certificate): EstRequester => ({
    kind: 'est-client',
    name: 'gw',
    label: 'gateways',
    certificate: { subject: 'O=Acme, CN=gw', sans: (cert.subjectAltName ?? '').split(', '), serial: cert.serialNumber.toLowerCase() },
    auth: 'trust-anchor',
    spiffeId: null,
  });
  const ra = issue('ra-gw', `clientAuth,${ID_KP_CMC_RA}`);
  const plain = issue('plain-gw', 'clientAuth');

  test('only a certificate with id-kp-cmcRA, on a label that trusts RAs, vouches', () => {
    assert.deepEqual(registrationAuthority(true, ra, requesterFor(ra)), {
      subject: 'O=Acme, CN=gw',
      serial: '2a',
      spiffeId: 'spiffe://example.org/ra/ra-gw',
    });
    assert.equal(registrationAuthority(true, plain, requesterFor(plain)), null, 'no EKU: a gateway, not an RA');
    assert.equal(registrationAuthority(false, ra, requesterFor(ra)), null, 'the label does not trust RAs');
    assert.equal(registrationAuthority(true, null, { ...requesterFor(ra), certificate: null, auth: 'basic' }), null, 'Basic never makes an RA');
  });

  test('est.trustRegistrationAuthorities and est.labels.<label>.trustRegistrationAuthorities: booleans, false unless set', () => {
    const load = (yaml: string) => {
      const f = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, yaml);
      return loadConfig({ WORKLOAD_CA_CONFIG: f, WORKLOAD_CA_DATA_DIR: dir }, dir);
    };
    const r = load(
      'est:\n  labels:\n    gateways: { trustAnchors: [a.pem], trustRegistrationAuthorities: true }\n    devices: { trustAnchors: [a.pem] }\n',
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.equal(r.config.est.labels.gateways!.trustRegistrationAuthorities, true);
    assert.equal(r.config.est.labels.devices!.trustRegistrationAuthorities, false);
    assert.equal(r.config.est.trustRegistrationAuthorities, false);
    const unlabeled = load('est:\n  trustAnchors: [a.pem]\n  trustRegistrationAuthorities: true\n');
    assert.ok(unlabeled.ok && unlabeled.config.est.trustRegistrationAuthorities);
    assert.equal(load('est:\n  labels:\n    gateways: { trustRegistrationAuthorities: "yes" }\n').ok, false);
  });
});
