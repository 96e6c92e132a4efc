// ACME (RFC 8555) against the real server over real HTTPS, with a literal JWS client that can
// break each rule on purpose. Certificates are checked with openssl; issuance with the ledger.

import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { RawAcmeClient, completeOrder, dns01Value, eabJws, newAccountKey } from '../support/acme-client.js';
import { startAcmeBench, type AcmeBench } from '../support/acme.js';
import { buildCsr, sanExtension, testKey } from '../support/csr.js';
import { https } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';
import { eventually } from '../support/eventually.js';

const run = promisify(execFile);
const TD = 'workload-ca.test';
const name = (host: string, binding = 'web'): string => `${host}.${binding}.vm.${TD}`;
const csrFor = (names: string[], key = testKey('p256')) => buildCsr({ key, extensions: [sanExtension({ dns: names })] });
const errType = (r: { json: Record<string, unknown> | null }): unknown => r.json?.type;
const acmeErr = (t: string): string => `urn:ietf:params:acme:error:${t}`;

let bench: AcmeBench;
let work: string;

async function ledgerRows(serial: string): Promise<number> {
  const r = await https(bench.server, 'GET', `/v1/admin/certificates/${serial}`, { headers: { authorization: `Bearer ${bench.adminToken}` } });
  if (r.status === 404) return 0;
  assert.equal(r.status, 200, r.body);
  const body = JSON.parse(r.body) as { certificates?: unknown[] } | unknown[];
  return Array.isArray(body) ? body.length : (body.certificates?.length ?? 1);
}

async function readyOrder(c: RawAcmeClient, names: string[]): Promise<{ url: string; finalize: string }> {
  const o = await c.post(c.directory.newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })) });
  assert.equal(o.status, 201, o.text);
  for (const authzUrl of o.json!.authorizations as string[]) {
    let authz = (await c.post(authzUrl, '')).json!;
    if (authz.status === 'valid') continue;
    const ch = (authz.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'http-01')!;
    bench.tokens.set(ch.token, c.keyAuthorization(ch.token));
    assert.equal((await c.post(ch.url, {})).status, 200);
    await eventually('the authorization to leave pending', async () => (authz = (await c.post(authzUrl, '')).json!).status !== 'pending', 10_000, 25);
    assert.equal(authz.status, 'valid', JSON.stringify(authz));
  }
  const again = await c.post(o.location!, '');
  assert.equal(again.json!.status, 'ready');
  return { url: o.location!, finalize: o.json!.finalize as string };
}

before(async () => {
  work = scratchDir('wlca-acme-');
  bench = await startAcmeBench({
    workers: 2,
    env: { WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR: '25', WORKLOAD_CA_ACME_FAILED_VALIDATIONS_PER_HOUR: '2' },
  });
});
after(async () => bench?.stop());

describe('ACME directory and nonces', () => {
  it('publishes the directory with meta, and nonces on HEAD (200) and GET (204)', async () => {
    const c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange', 'renewalInfo']) {
      assert.match(String(c.directory[k]), /^https:\/\/127\.0\.0\.1:\d+\/acme\//, k);
    }
    assert.deepEqual((c.directory as unknown as { meta: unknown }).meta, { externalAccountRequired: true });
    const head = await c.get(c.directory.newNonce!, 'HEAD');
    const get = await c.get(c.directory.newNonce!);
    assert.equal(head.status, 200);
    assert.equal(get.status, 204);
    assert.match(String(head.headers['replay-nonce']), /^[A-Za-z0-9_-]{20,}$/);
    assert.notEqual(head.headers['replay-nonce'], get.headers['replay-nonce']);
    assert.equal(get.headers['cache-control'], 'no-store');
    await c.close();
  });
});

describe('ACME JWS rules (RFC 8555 §6)', () => {
  let c: RawAcmeClient;
  before(async () => {
    c = await bench.client();
  });

  it('accepts only application/jose+json (415)', async () => {
    const body = JSON.stringify(await c.sign(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('a') }] }));
    const r = await c.send(c.directory.newOrder!, 'POST', body, 'application/json');
    assert.equal(r.status, 415);
    assert.equal(errType(r), acmeErr('malformed'));
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    assert.ok(r.headers['replay-nonce'], 'errors carry a fresh nonce');
  });

  it('answers GET on POST-only resources with 405', async () => {
    for (const url of [c.directory.newOrder!, c.directory.newAccount!, c.kid!]) {
      const r = await c.get(url);
      assert.equal(r.status, 405, url);
      assert.equal(errType(r), acmeErr('malformed'));
      assert.equal(r.headers.allow, 'POST');
    }
  });

  it('refuses the general serialization and unprotected headers', async () => {
    const jws = await c.sign(c.directory.newOrder!, {});
    const general = JSON.stringify({ payload: jws.payload, signatures: [{ protected: jws.protected, signature: jws.signature }] });
    const r1 = await c.send(c.directory.newOrder!, 'POST', general, 'application/jose+json');
    assert.equal(r1.status, 400);
    assert.equal(errType(r1), acmeErr('malformed'));
    assert.match(String(r1.json!.detail), /flattened/);
    const r2 = await c.send(c.directory.newOrder!, 'POST', JSON.stringify({ ...jws, header: { kid: 'x' } }), 'application/jose+json');
    assert.equal(errType(r2), acmeErr('malformed'));
    const r3 = await c.send(c.directory.newOrder!, 'POST', '{"protected": ', 'application/jose+json');
    assert.equal(errType(r3), acmeErr('malformed'));
  });

  it('refuses an unsupported alg with badSignatureAlgorithm and the accepted list', async () => {
    // Built by hand: no library signs a P-256 key's request as HS256.
    const header = { alg: 'HS256', nonce: await c.nonce(), url: c.directory.newOrder, kid: c.kid };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = JSON.stringify({ protected: b64(header), payload: b64({}), signature: 'AAAA' });
    const r = await c.send(c.directory.newOrder!, 'POST', body, 'application/jose+json');
    assert.equal(r.status, 400);
    assert.equal(errType(r), acmeErr('badSignatureAlgorithm'));
    assert.deepEqual(r.json!.algorithms, ['ES256', 'RS256']);
  });

  it('needs exactly one of jwk and kid, and kid where an account is required', async () => {
    const both = await c.post(c.directory.newOrder!, {}, { header: { jwk: c.key.jwk } });
    assert.equal(errType(both), acmeErr('malformed'));
    const jwkOnly = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('a') }] }, { useJwk: true });
    assert.equal(errType(jwkOnly), acmeErr('malformed'));
    assert.match(String(jwkOnly.json!.detail), /kid/);
  });

  it('checks the url header against the request URL', async () => {
    const r = await c.post(c.directory.newOrder!, {}, { header: { url: c.directory.newAccount } });
    assert.equal(r.status, 403);
    assert.equal(errType(r), acmeErr('unauthorized'));
    const missing = await c.post(c.directory.newOrder!, {}, { header: { url: undefined } });
    assert.equal(errType(missing), acmeErr('malformed'));
  });

  it('needs a nonce it issued, once: a bad or missing nonce gets badNonce and a fresh one', async () => {
    const missing = await c.post(c.directory.newOrder!, {}, { header: { nonce: undefined } });
    assert.equal(errType(missing), acmeErr('badNonce'));
    const forged = await c.post(c.directory.newOrder!, {}, { nonce: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(forged.status, 400);
    assert.equal(errType(forged), acmeErr('badNonce'));
    assert.match(String(forged.headers['replay-nonce']), /^[A-Za-z0-9_-]+$/);
  });

  it('lets one of two parallel requests with the same nonce through', async () => {
    const nonce = await c.nonce();
    const payload = { identifiers: [{ type: 'dns', value: name('parallel') }] };
    const [a, b] = await Promise.all([c.post(c.directory.newOrder!, payload, { nonce }), c.post(c.directory.newOrder!, payload, { nonce })]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [201, 400]);
    assert.equal(errType(a.status === 400 ? a : b), acmeErr('badNonce'));
  });

  it('refuses a signature that does not verify, and a kid of another account', async () => {
    const jws = await c.sign(c.directory.newOrder!, {});
    const tampered = { ...jws, signature: jws.signature!.slice(0, -4) + (jws.signature!.endsWith('AAAA') ? 'BBBB' : 'AAAA') };
    const r = await c.send(c.directory.newOrder!, 'POST', JSON.stringify(tampered), 'application/jose+json');
    assert.equal(errType(r), acmeErr('malformed'));
    const other = await bench.client();
    const stolen = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('x') }] }, { header: { kid: other.kid } });
    assert.equal(stolen.status, 400);
    assert.equal(errType(stolen), acmeErr('malformed'));
    assert.match(String(stolen.json!.detail), /signature/);
    const unknown = await c.post(c.directory.newOrder!, {}, { header: { kid: `${bench.server.url}/acme/acct/nope` } });
    assert.equal(errType(unknown), acmeErr('accountDoesNotExist'));
  });

  it('limits the body size (413)', async () => {
    const r = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'x'.repeat(200_000) }] });
    assert.equal(r.status, 413);
    assert.equal(errType(r), acmeErr('malformed'));
  });
});

describe('ACME accounts and external account binding', () => {
  it('requires EAB, and refuses an unknown key id or a wrong MAC', async () => {
    const c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    const none = await c.newAccount();
    assert.equal(none.status, 403);
    assert.equal(errType(none), acmeErr('externalAccountRequired'));
    const real = await bench.eab('web');
    const unknown = await c.newAccount({ keyId: 'eab_unknown', hmacKey: real.hmacKey });
    assert.equal(errType(unknown), acmeErr('unauthorized'));
    assert.match(String(unknown.json!.detail), /unknown key id/);
    const wrong = await c.newAccount({ keyId: real.keyId, hmacKey: Buffer.alloc(32, 7).toString('base64url') });
    assert.equal(errType(wrong), acmeErr('unauthorized'));
    assert.match(String(wrong.json!.detail), /MAC/);
    // An EAB over some other key does not bind this one.
    const otherKey = await newAccountKey();
    const swapped = await c.post(
      c.directory.newAccount!,
      { externalAccountBinding: await eabJws(otherKey.jwk, c.directory.newAccount!, real) },
      { useJwk: true },
    );
    assert.equal(errType(swapped), acmeErr('unauthorized'));
    const ok = await c.newAccount(real, { contact: ['mailto:ops@example.org'] });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json, { status: 'valid', contact: ['mailto:ops@example.org'], orders: `${ok.location}/orders` });
    // The same key again: the same account, 200, nothing new.
    const again = await c.newAccount(real);
    assert.equal(again.status, 200);
    assert.equal(again.location, ok.location);
    await c.close();
  });

  it('`workload-ca acme eab create` makes a key that binds an account; `revoke` stops it binding more', async () => {
    const key = await bench.eabViaCli('db');
    assert.match(key.keyId, /^eab_/);
    const c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    assert.equal((await c.newAccount(key)).status, 201);
    const bad = await bench.server.cli(['acme', 'eab', 'create', '--binding', 'Not_A_Label']);
    assert.notEqual(bad.code, 0);
    // Revoked, the key binds no new account; the account it bound keeps working.
    const revoked = await bench.server.cli(['acme', 'eab', 'revoke', key.keyId]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const late = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    const refused = await late.newAccount(key);
    assert.equal(errType(refused), acmeErr('unauthorized'));
    assert.match(String(refused.json!.detail), /revoked/);
    assert.equal((await c.post(c.kid!, '')).status, 200);
    assert.notEqual((await bench.server.cli(['acme', 'eab', 'revoke', 'eab_nosuchkey'])).code, 0);
    await late.close();
    await c.close();
  });

  it('onlyReturnExisting finds an account or says it does not exist', async () => {
    const c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey('RS256')).init();
    const r = await c.post(c.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    assert.equal(errType(r), acmeErr('accountDoesNotExist'));
    assert.equal((await c.newAccount(await bench.eab('web'))).status, 201, 'RS256 account keys are accepted');
    const found = await c.post(c.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    assert.equal(found.status, 200);
    assert.equal(found.location, c.kid);
    await c.close();
  });

  it('updates contacts, refuses bad ones, and a deactivated account can do nothing more', async () => {
    const c = await bench.client();
    const upd = await c.post(c.kid!, { contact: ['mailto:new@example.org'] });
    assert.deepEqual(upd.json!.contact, ['mailto:new@example.org']);
    const bad = await c.post(c.kid!, { contact: ['tel:+123'] });
    assert.equal(errType(bad), acmeErr('unsupportedContact'));
    const off = await c.post(c.kid!, { status: 'deactivated' });
    assert.equal(off.json!.status, 'deactivated');
    const after = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('z') }] });
    assert.equal(after.status, 403);
    assert.equal(errType(after), acmeErr('unauthorized'));
    assert.match(String(after.json!.detail), /deactivated/);
  });

  it("refuses newAccount with a deactivated account's key: 403 unauthorized, onlyReturnExisting too (RFC 8555 §7.3.6)", async () => {
    const c = await bench.client();
    assert.equal((await c.post(c.kid!, { status: 'deactivated' })).json!.status, 'deactivated');
    const again = await c.newAccount(await bench.eab('web'));
    assert.equal(again.status, 403, again.text);
    assert.equal(errType(again), acmeErr('unauthorized'));
    assert.match(String(again.json!.detail), /deactivated/);
    const lookup = await c.post(c.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    assert.equal(lookup.status, 403, lookup.text);
    assert.equal(errType(lookup), acmeErr('unauthorized'));
  });

  it('changes keys, and refuses a key another account holds (409)', async () => {
    const a = await bench.client();
    const b = await bench.client();
    const keyChange = async (c: RawAcmeClient, next: Awaited<ReturnType<typeof newAccountKey>>) => {
      const signer = new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, next);
      signer.directory = c.directory;
      const inner = await signer.sign(c.directory.keyChange!, { account: c.kid, oldKey: c.key.jwk }, { useJwk: true, header: { nonce: undefined } });
      await signer.close();
      return c.post(c.directory.keyChange!, inner);
    };
    const conflict = await keyChange(a, b.key);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.location, b.kid);
    const fresh = await newAccountKey();
    const ok = await keyChange(a, fresh);
    assert.equal(ok.status, 200, ok.text);
    const oldKey = await a.post(a.kid!, '');
    assert.equal(oldKey.status, 400, 'the old key no longer signs for the account');
    a.key = fresh;
    assert.equal((await a.post(a.kid!, '')).status, 200);
  });
});

describe('ACME orders, validation and finalize', () => {
  it('issues through the Issuer: SPIFFE ID from the binding, names validated, chain that openssl verifies, one ledger row', async () => {
    const c = await bench.client('web');
    const names = [name('host1'), name('www1')];
    const csr = csrFor(names);
    const r = await completeOrder(c, names, csr.der, (t, ka) => bench.tokens.set(t, ka));
    const chainFile = join(work, 'chain.pem');
    writeFileSync(chainFile, r.chainPem);
    const v = await run('openssl', ['verify', '-CAfile', bench.server.rootFile, '-untrusted', chainFile, chainFile]);
    assert.match(v.stdout, /: OK/);
    const leaf = new X509Certificate(r.chainPem);
    assert.equal(leaf.subjectAltName, `URI:spiffe://${TD}/vm/web/${names[0]}, DNS:${names[0]}, DNS:${names[1]}`);
    assert.ok(leaf.publicKey.equals(csr.key.type === 'private' ? (await import('node:crypto')).createPublicKey(csr.key) : csr.key));
    assert.equal(await ledgerRows(leaf.serialNumber.toLowerCase()), 1);
  });

  it('validates dns-01 through the configured resolver', async () => {
    const c = await bench.client('web');
    const host = name('dns1');
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
    const authzUrl = (o.json!.authorizations as string[])[0]!;
    const authz = (await c.post(authzUrl, '')).json!;
    const ch = (authz.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'dns-01')!;
    bench.dns.setTxt(`_acme-challenge.${host}`, [dns01Value(c.keyAuthorization(ch.token))]);
    // A validation that finishes within the answer budget is answered in the challenge request.
    const answered = await c.post(ch.url, {});
    assert.equal(answered.json!.status, 'valid', answered.text);
    assert.match(String(answered.json!.validated), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(answered.headers['retry-after'], undefined);
    assert.equal((await c.post(authzUrl, '')).json!.status, 'valid', 'recorded before the answer');
  });

  it('a validation slower than the answer budget is answered processing with Retry-After, and completes in the background', async () => {
    const c = await bench.client('web');
    const host = name('slow1');
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: host }] });
    const authzUrl = (o.json!.authorizations as string[])[0]!;
    const ch = ((await c.post(authzUrl, '')).json!.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'http-01')!;
    bench.tokens.set(ch.token, c.keyAuthorization(ch.token));
    bench.delays.set(ch.token, 1_500);
    const answered = await c.post(ch.url, {});
    assert.equal(answered.json!.status, 'processing', answered.text);
    assert.equal(answered.headers['retry-after'], '1');
    const polled = await c.post(authzUrl, '');
    assert.equal(polled.json!.status, 'pending');
    assert.equal(polled.headers['retry-after'], '1');
    await eventually('the authorization to be valid', async () => (await c.post(authzUrl, '')).json!.status === 'valid', 10_000, 50);
  });

  it('refuses names outside the binding at newOrder, naming the rule once and the names this account may order', async () => {
    const c = await bench.client('web');
    const r = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('h', 'db') }] });
    assert.equal(r.status, 400);
    assert.equal(errType(r), acmeErr('rejectedIdentifier'));
    const detail = String(r.json!.detail);
    assert.equal(detail.match(/acme-vms/g)?.length, 1, detail);
    assert.match(detail, /\(allowed: \*\.web\.vm\.workload-ca\.test\)/);
    assert.doesNotMatch(detail, /\{binding\}/);
    const multi = await c.post(c.directory.newOrder!, {
      identifiers: [
        { type: 'ip', value: '10.0.0.1' },
        { type: 'dns', value: '*.web.vm.x' },
      ],
    });
    assert.equal(errType(multi), acmeErr('compound'));
    assert.equal((multi.json!.subproblems as unknown[]).length, 2);
  });

  it('marks a failed validation invalid, and rate-limits failed validations', async () => {
    const c = await bench.client('web');
    for (let i = 0; i < 2; i++) {
      const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name(`fail${i}`) }] });
      const authzUrl = (o.json!.authorizations as string[])[0]!;
      const ch = ((await c.post(authzUrl, '')).json!.challenges as { type: string; url: string }[]).find((x) => x.type === 'http-01')!;
      await c.post(ch.url, {}); // no token served: 404 at the responder
      let authz: Record<string, unknown> = {};
      await eventually(
        'the authorization to leave pending',
        async () => (authz = (await c.post(authzUrl, '')).json!).status !== 'pending',
        10_000,
        25,
      );
      assert.equal(authz.status, 'invalid');
      const failed = (authz.challenges as { type: string; error?: { type: string } }[]).find((x) => x.type === 'http-01')!;
      assert.equal(failed.error?.type, acmeErr('unauthorized'));
      assert.equal((await c.post(o.location!, '')).json!.status, 'invalid');
    }
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('fail3') }] });
    const ch = ((await c.post((o.json!.authorizations as string[])[0]!, '')).json!.challenges as { type: string; url: string }[])[0]!;
    const limited = await c.post(ch.url, {});
    assert.equal(limited.status, 429);
    assert.equal(errType(limited), acmeErr('rateLimited'));
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  it('rate-limits new orders per account', async () => {
    const c = await bench.client('web');
    let last = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('rl') }] });
    for (let i = 0; i < 30 && last.status === 201; i++)
      last = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('rl') }] });
    assert.equal(last.status, 429);
    assert.equal(errType(last), acmeErr('rateLimited'));
    assert.ok(Number(last.headers['retry-after']) > 0 && Number(last.headers['retry-after']) <= 3600);
  });

  it('finalize before ready is orderNotReady; a CSR with other names is badCSR, a refused key badPublicKey, and the order stays ready', async () => {
    const c = await bench.client('web');
    const host = name('fin1');
    const pending = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('notready') }] });
    const early = await c.post(pending.json!.finalize as string, { csr: csrFor([name('notready')]).der.toString('base64url') });
    assert.equal(early.status, 403);
    assert.equal(errType(early), acmeErr('orderNotReady'));

    const o = await readyOrder(c, [host]);
    const wrongNames = await c.post(o.finalize, { csr: csrFor([host, name('extra')]).der.toString('base64url') });
    assert.equal(errType(wrongNames), acmeErr('badCSR'));
    assert.match(String(wrongNames.json!.detail), /extra/);
    assert.equal((await c.post(o.url, '')).json!.status, 'ready');

    const p384 = await c.post(o.finalize, { csr: csrFor([host], testKey('p384')).der.toString('base64url') });
    assert.equal(errType(p384), acmeErr('badPublicKey'));
    assert.match(String(p384.json!.detail), /ecdsa-p384/);
    assert.equal((await c.post(o.url, '')).json!.status, 'ready');

    const badSig = await c.post(o.finalize, {
      csr: buildCsr({ extensions: [sanExtension({ dns: [host] })], badSignature: true }).der.toString('base64url'),
    });
    assert.equal(errType(badSig), acmeErr('badCSR'));
    assert.equal((await c.post(o.url, '')).json!.status, 'ready');
  });

  it('two concurrent finalize calls give one certificate and one ledger row', async () => {
    const c = await bench.client('web');
    const host = name('race1');
    const o = await readyOrder(c, [host]);
    const csr = csrFor([host]).der.toString('base64url');
    // Three connections, so the three requests are in flight at once (and reach both workers).
    const wide = new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, c.key, 3);
    wide.directory = c.directory;
    wide.kid = c.kid;
    const nonces = [await c.nonce(), await c.nonce(), await c.nonce()];
    const results = await Promise.all(nonces.map((nonce) => wide.post(o.finalize, { csr }, { nonce })));
    await wide.close();
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(errType(r), acmeErr('orderNotReady'));
    const cert = await c.post(ok[0]!.json!.certificate as string, '');
    const serial = new X509Certificate(cert.text).serialNumber.toLowerCase();
    assert.equal(await ledgerRows(serial), 1);
    const all = await https(bench.server, 'GET', `/v1/admin/certificates?spiffe_id=${encodeURIComponent(`spiffe://${TD}/vm/web/${host}`)}`, {
      headers: { authorization: `Bearer ${bench.adminToken}` },
    });
    assert.equal((JSON.parse(all.body) as { items: unknown[] }).items.length, 1);
  });

  it('deactivates an authorization', async () => {
    const c = await bench.client('web');
    const o = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('deact') }] });
    const authzUrl = (o.json!.authorizations as string[])[0]!;
    const r = await c.post(authzUrl, { status: 'deactivated' });
    assert.equal(r.json!.status, 'deactivated');
    assert.equal((await c.post(o.location!, '')).json!.status, 'invalid');
  });
});

describe('ACME revocation and renewal information', () => {
  it('revokes by the ordering account once; a second time is alreadyRevoked; others are unauthorized', async () => {
    const c = await bench.client('web');
    const host = name('rev1');
    const r = await completeOrder(c, [host], csrFor([host]).der, (t, ka) => bench.tokens.set(t, ka));
    const der = new X509Certificate(r.chainPem).raw.toString('base64url');
    const stranger = await bench.client('web');
    const denied = await stranger.post(stranger.directory.revokeCert!, { certificate: der });
    assert.equal(denied.status, 403);
    assert.equal(errType(denied), acmeErr('unauthorized'));
    const badReason = await c.post(c.directory.revokeCert!, { certificate: der, reason: 7 });
    assert.equal(errType(badReason), acmeErr('badRevocationReason'));
    assert.equal((await c.post(c.directory.revokeCert!, { certificate: der, reason: 4 })).status, 200);
    const twice = await c.post(c.directory.revokeCert!, { certificate: der });
    assert.equal(errType(twice), acmeErr('alreadyRevoked'));
    // One event in the ledger, naming the account; the refused second attempt adds none.
    const serial = new X509Certificate(r.chainPem).serialNumber.toLowerCase().padStart(32, '0');
    const res = await https(bench.server, 'GET', '/v1/admin/revocations?limit=50', { headers: { authorization: `Bearer ${bench.adminToken}` } });
    const mine = (
      JSON.parse(res.body).items as { selector: { serial?: string }; revoked_by: unknown; reason: number; certificate_count: number }[]
    ).filter((e) => e.selector.serial === serial);
    assert.deepEqual(
      mine.map((e) => [e.revoked_by, e.reason, e.certificate_count]),
      [[{ kind: 'account', accountId: c.kid!.split('/').pop() }, 4, 1]],
    );
  });

  it('revokes by another account that holds valid authorizations for every name of the certificate', async () => {
    const c = await bench.client('web');
    const names = [name('rev3a'), name('rev3b')];
    const r = await completeOrder(c, names, csrFor(names).der, (t, ka) => bench.tokens.set(t, ka));
    const der = new X509Certificate(r.chainPem).raw.toString('base64url');
    // The names come from the certificate's DER: holding one of the two is not enough.
    const other = await bench.client('web');
    await readyOrder(other, [names[0]!]);
    const partial = await other.post(other.directory.revokeCert!, { certificate: der });
    assert.equal(errType(partial), acmeErr('unauthorized'), partial.text);
    await readyOrder(other, [names[1]!]);
    const res = await other.post(other.directory.revokeCert!, { certificate: der, reason: 4 });
    assert.equal(res.status, 200, res.text);
  });

  it("revokes with the certificate's own key (jwk)", async () => {
    const c = await bench.client('web');
    const host = name('rev2');
    const key = testKey('p256');
    const r = await completeOrder(c, [host], csrFor([host], key).der, (t, ka) => bench.tokens.set(t, ka));
    const { exportJWK } = await import('jose');
    const full = await exportJWK(key.publicKey);
    const certKeyClient = new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, {
      privateKey: key.privateKey,
      jwk: { kty: 'EC', crv: 'P-256', x: full.x!, y: full.y! },
      alg: 'ES256',
      thumbprint: '',
    });
    await certKeyClient.init();
    const res = await certKeyClient.post(
      certKeyClient.directory.revokeCert!,
      { certificate: new X509Certificate(r.chainPem).raw.toString('base64url'), reason: 1 },
      { useJwk: true },
    );
    assert.equal(res.status, 200, res.text);
    await certKeyClient.close();
  });

  it('suggests a renewal window in the middle of the lifetime (ARI)', async () => {
    const c = await bench.client('web');
    const host = name('ari1');
    const r = await completeOrder(c, [host], csrFor([host]).der, (t, ka) => bench.tokens.set(t, ka));
    const leaf = new X509Certificate(r.chainPem);
    const issuingPem = r.chainPem.slice(r.chainPem.indexOf('-----END CERTIFICATE-----') + 26);
    const skiText = spawnSync('openssl', ['x509', '-noout', '-ext', 'subjectKeyIdentifier'], { input: issuingPem, encoding: 'utf8' }).stdout;
    const ski = Buffer.from(/([0-9A-F]{2}:){19}[0-9A-F]{2}/i.exec(skiText)![0].replace(/:/g, ''), 'hex');
    const certId = `${ski.toString('base64url')}.${Buffer.from(leaf.serialNumber.padStart(32, '0'), 'hex').toString('base64url')}`;
    const ari = await c.get(`${c.directory.renewalInfo}/${certId}`);
    assert.equal(ari.status, 200, ari.text);
    const w = ari.json!.suggestedWindow as { start: string; end: string };
    const nb = Date.parse(leaf.validFrom);
    const na = Date.parse(leaf.validTo);
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    assert.ok(start >= nb + (na - nb) / 3 - 1000 && end <= nb + (2 * (na - nb)) / 3 + 1000 && start < end, JSON.stringify(w));
    assert.ok(Number(ari.headers['retry-after']) > 0);
    const unknown = await c.get(`${c.directory.renewalInfo}/${ski.toString('base64url')}.AQID`);
    assert.equal(unknown.status, 404);
  });
});

describe('operators revoke what the accounts of an EAB key or binding obtained', () => {
  const adminHeaders = (): Record<string, string> => ({ authorization: `Bearer ${bench.adminToken}`, 'content-type': 'application/json' });
  const get = async (path: string) => {
    const r = await https(bench.server, 'GET', path, { headers: { authorization: `Bearer ${bench.adminToken}` } });
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return JSON.parse(r.body);
  };
  const serialOf = (chainPem: string): string => {
    const hex = new X509Certificate(chainPem).serialNumber;
    return (hex.length % 2 ? `0${hex}` : hex).toLowerCase();
  };
  async function accountWith(key: { keyId: string; hmacKey: string }): Promise<RawAcmeClient> {
    const c = await new RawAcmeClient(bench.directoryUrl, bench.server.rootPem, await newAccountKey()).init();
    const r = await c.newAccount(key);
    assert.equal(r.status, 201, r.text);
    return c;
  }
  async function issue(c: RawAcmeClient, host: string): Promise<string> {
    const r = await completeOrder(c, [host], csrFor([host]).der, (t, ka) => bench.tokens.set(t, ka));
    return serialOf(r.chainPem);
  }

  it('`acme eab revoke --deactivate-accounts --revoke-certificates`: its accounts are unauthorized and their certificates revoked as one event; another key of the binding keeps working until the binding is revoked', async () => {
    const [k1, k2, k3] = await Promise.all([bench.eab('fleet'), bench.eab('fleet'), bench.eab('yard')]);
    const [a, b, y] = await Promise.all([accountWith(k1), accountWith(k2), accountWith(k3)]);
    const [sa, sb, sy] = await Promise.all([issue(a, name('eab1', 'fleet')), issue(b, name('eab2', 'fleet')), issue(y, name('eab3', 'yard'))]);
    // The ledger is written behind the reply; the selectors read it.
    await eventually(
      'the three certificates in the ledger',
      async () =>
        (await get('/v1/admin/certificates?path=acme&limit=20')).items.filter((i: { serial: string }) => [sa, sb, sy].includes(i.serial)).length ===
        3,
      10_000,
    );
    assert.deepEqual(
      (await get(`/v1/admin/certificates?eab_key_id=${k1.keyId}`)).items.map((i: { serial: string }) => i.serial),
      [sa],
    );
    assert.equal((await get(`/v1/admin/certificates/${sb}`))[0].requester.eabKeyId, k2.keyId, 'the ledger names the EAB key');

    // Refused options change nothing: the key still binds accounts afterwards.
    for (const body of [{ revokeCertificates: true }, { deactivateAccounts: 'yes' }, { deactivateAccounts: true, reason: 7 }, { everything: true }]) {
      const r = await https(bench.server, 'DELETE', `/v1/admin/acme/eab-keys/${k3.keyId}`, { headers: adminHeaders(), body: JSON.stringify(body) });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    }
    await (await accountWith(k3)).close();

    const r = await bench.server.cli([
      'acme',
      'eab',
      'revoke',
      k1.keyId,
      '--deactivate-accounts',
      '--revoke-certificates',
      '--reason',
      '9',
      '--requested-by',
      'T-7',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked 1 certificate\(s\) \(revocation event [0-9a-f-]{36}\)/);
    assert.ok(r.stdout.includes(`account ${a.kid!.split('/').pop()}`), r.stdout);
    const eventId = /revocation event ([0-9a-f-]{36})/.exec(r.stdout)![1]!;

    // Whichever worker answers: each forgets a cached account within a second.
    await eventually('the account to be refused', async () => errType(await a.post(a.kid!, '')) === acmeErr('unauthorized'), 5_000, 100);
    const refused = await a.post(a.directory.newOrder!, { identifiers: [{ type: 'dns', value: name('eab1b', 'fleet') }] });
    assert.equal(refused.status, 403);
    assert.equal(errType(refused), acmeErr('unauthorized'));
    assert.match(String(refused.json!.detail), /revoked/);
    assert.equal((await b.post(b.kid!, '')).status, 200, 'an account of another key of the same binding still works');

    const event = await get(`/v1/admin/revocations/${eventId}`);
    assert.deepEqual(
      [
        event.reason,
        event.selector,
        event.revoked_by.requestedBy,
        event.certificate_count,
        event.certificates.map((c: { serial: string }) => c.serial),
      ],
      [9, { eabKeyId: k1.keyId }, 'T-7', 1, [sa]],
    );
    const first = (await get(`/v1/admin/certificates/${sa}`))[0];
    assert.deepEqual([first.status, first.revocation.reason, first.revocation.event_id], ['revoked', 9, eventId]);

    // By binding: what is left of "fleet" (b's certificate), not "yard"; a dry run first, which records nothing.
    const revoke = (body: unknown) => https(bench.server, 'POST', '/v1/admin/revocations', { headers: adminHeaders(), body: JSON.stringify(body) });
    const eventsBefore = (await get('/v1/admin/revocations')).items;
    const dry = await revoke({ eabBinding: 'fleet', dryRun: true });
    assert.deepEqual(JSON.parse(dry.body), { dryRun: true, revoked: 0, wouldRevoke: 1, serials: [sb] });
    assert.deepEqual((await get('/v1/admin/revocations')).items, eventsBefore);
    const byBinding = await revoke({ eabBinding: 'fleet', reason: 4, requestedBy: 'T-8' });
    assert.equal(byBinding.status, 200, byBinding.body);
    assert.deepEqual(JSON.parse(byBinding.body).serials, [sb]);
    const newest = (await get('/v1/admin/revocations?limit=1')).items[0];
    assert.deepEqual([newest.event_id, newest.selector, newest.certificate_count], [JSON.parse(byBinding.body).eventId, { eabBinding: 'fleet' }, 1]);
    assert.equal((await get(`/v1/admin/certificates/${sy}`))[0].status, 'live');
    assert.deepEqual(
      (await get('/v1/admin/certificates?acme_binding=fleet&status=revoked')).items.map((i: { serial: string }) => i.serial).sort(),
      [sa, sb].sort(),
    );
    await Promise.all([a.close(), b.close(), y.close()]);
  });
});
