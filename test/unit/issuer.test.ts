// The Issuer on its own: a real CA made by the key ceremony, the default policy, and an audit
// sink that records what it is given (or refuses it), so every outcome's event can be inspected.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import type { AuditEvent, AuditReceipt, AuditSink } from '../../src/audit/event.js';
import { initCa, loadCaCertificates, type CaCertificates } from '../../src/ca/ceremony.js';
import { openFileSigner } from '../../src/ca/file-signer.js';
import { Issuer, type IssuanceRequest } from '../../src/issuance/issuer.js';
import { SignerSlot, type Signer } from '../../src/pki/signer.js';
import { defaultPolicyYaml, parsePolicy, type Policy } from '../../src/policy/index.js';
import type { Requester } from '../../src/policy/types.js';
import { buildCsr, caRequestExtension, sanExtension, testKey } from '../support/csr.js';
import { scratchDir } from '../support/scratch.js';

class RecordingSink implements AuditSink {
  events: AuditEvent[] = [];
  refuse = false;
  async record(e: AuditEvent): Promise<AuditReceipt> {
    if (this.refuse) return { ok: false, reason: 'queue full', retryAfterSeconds: 2 };
    this.events.push(e);
    return { ok: true };
  }
  async health() {
    return { ok: true, detail: 'test' };
  }
  async close() {}
}

const ISSUER = 'https://issuer.test';
const dir = scratchDir('issuer-');
let ca: CaCertificates;
let signer: Signer;
let policy: Policy;
const sink = new RecordingSink();
const outcomes: string[] = [];
let issuer: Issuer;

const token = (ns: string, sa: string): Requester => ({
  kind: 'token',
  issuer: ISSUER,
  subject: `system:serviceaccount:${ns}:${sa}`,
  claims: { iss: ISSUER, aud: ['workload-ca'], 'kubernetes.io': { namespace: ns, serviceaccount: { name: sa } } },
});

const request = (over: Partial<IssuanceRequest> = {}): IssuanceRequest => ({
  path: 'api',
  requester: token('shop', 'cart'),
  csr: buildCsr().der,
  ...over,
});

before(async () => {
  const r = await initCa(join(dir, 'ca'), { trustDomain: 'example.org' });
  assert.ok(r.ok);
  ca = loadCaCertificates(r.paths);
  signer = openFileSigner(r.paths).signer;
  const parsed = parsePolicy(defaultPolicyYaml({ trustDomain: 'example.org', tokenIssuer: ISSUER, audience: 'workload-ca' }));
  assert.ok(parsed.ok);
  policy = parsed.policy;
  issuer = new Issuer({ current: signer }, { current: policy }, sink, {
    issued: (path, rule) => outcomes.push(`issued ${path} ${rule}`),
    denied: (path, rule, code) => outcomes.push(`denied ${path} ${rule} ${code}`),
    challenged: (path) => outcomes.push(`challenged ${path}`),
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('issues an X509-SVID that an independent parser (pkijs) reads as the profile says', async () => {
  sink.events = [];
  const csr = buildCsr({ extensions: [caRequestExtension] });
  const r = await issuer.issue(request({ csr: csr.der }));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const cert = pkijs.Certificate.fromBER(new Uint8Array(r.certificate.der));
  const exts = new Map((cert.extensions ?? []).map((e) => [e.extnID, e]));
  assert.equal(exts.size, 6);
  assert.equal((exts.get('2.5.29.19')!.parsedValue as pkijs.BasicConstraints).cA, false);
  assert.equal(exts.get('2.5.29.19')!.critical, true);
  const san = (exts.get('2.5.29.17')!.parsedValue as pkijs.AltName).altNames;
  assert.deepEqual(
    san.map((n) => [n.type, n.value]),
    [[6, 'spiffe://example.org/ns/shop/sa/cart']],
  );
  assert.equal(cert.serialNumber.valueBlock.valueHexView.length, 16);
  assert.ok(new X509Certificate(r.certificate.der).verify(ca.issuing.publicKey));
  assert.ok(new X509Certificate(r.certificate.der).checkPrivateKey(csr.key));

  assert.equal(sink.events.length, 1);
  const e = sink.events[0]!;
  assert.equal(e.kind, 'issued');
  if (e.kind !== 'issued') return;
  assert.equal(e.serial, r.certificate.serial);
  assert.equal(e.rule, 'kubernetes-service-accounts');
  assert.equal(e.policyHash, policy.hash);
  assert.equal(e.spiffeId, 'spiffe://example.org/ns/shop/sa/cart');
  assert.equal(Buffer.from(e.certificate, 'base64').equals(r.certificate.der), true);
  assert.match(e.csrSha256!, /^[0-9a-f]{64}$/);
});

test('serials are distinct, 16 bytes and positive', async () => {
  const serials = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const r = await issuer.issue(request());
    assert.ok(r.ok);
    assert.match(r.certificate.serial, /^[0-7][0-9a-f]{31}$/);
    serials.add(r.certificate.serial);
  }
  assert.equal(serials.size, 50);
});

test('every refusal emits a denial event naming its rule and issues nothing', async () => {
  sink.events = [];
  const cases: [Partial<IssuanceRequest>, string, string][] = [
    [{ csr: Buffer.from('junk') }, 'csr-check', 'bad-csr'],
    [{ csr: buildCsr({ badSignature: true }).der }, 'csr-check', 'bad-csr'],
    [{ csr: buildCsr({ key: testKey('p384') }).der }, 'guardrails', 'key-not-allowed'],
    [
      { csr: buildCsr({ extensions: [sanExtension({ uris: ['spiffe://example.org/ns/other/sa/x'] })] }).der },
      'kubernetes-service-accounts',
      'identity-not-allowed',
    ],
    [{ lifetimeSeconds: 2 * 86400 }, 'kubernetes-service-accounts', 'lifetime-not-allowed'],
    [{ requester: { kind: 'token', issuer: 'https://other.test', subject: 's', claims: {} } }, 'default-deny', 'no-matching-rule'],
    [{ path: 'est' }, 'default-deny', 'no-matching-rule'],
  ];
  for (const [over, rule, code] of cases) {
    const r = await issuer.issue(request(over));
    assert.equal(r.ok, false);
    const e = sink.events.at(-1)!;
    assert.equal(e.kind, 'denied');
    assert.equal(e.rule, rule, JSON.stringify(e));
    if (e.kind === 'denied') assert.equal(e.code, code);
  }
  assert.equal(sink.events.length, cases.length);
  assert.ok(sink.events.every((e) => e.kind === 'denied'));
});

test('when the audit sink refuses, no certificate is returned', async () => {
  sink.refuse = true;
  try {
    const r = await issuer.issue(request());
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.kind, 'unavailable');
      if (r.error.kind === 'unavailable') assert.equal(r.error.retryAfterSeconds, 2);
    }
  } finally {
    sink.refuse = false;
  }
});

test('the observer hears about each outcome', () => {
  assert.ok(outcomes.includes('issued api kubernetes-service-accounts'));
  assert.ok(outcomes.includes('denied api default-deny no-matching-rule'));
});

const quiet = { issued: () => undefined, denied: () => undefined, challenged: () => undefined };

test("a leaf is capped at the issuing CA's notAfter, the event says so, and after it the Issuer refuses with ca-unavailable", async (t) => {
  // An issuing CA with about 14 minutes left, shorter than the default policy's one-hour leaves.
  const shortDir = scratchDir('issuer-short-');
  t.after(() => rmSync(shortDir, { recursive: true, force: true }));
  const made = await initCa(shortDir, { trustDomain: 'example.org', issuingDays: 0.01 });
  assert.ok(made.ok);
  const short = openFileSigner(made.paths).signer;
  const caEnd = Date.parse(new X509Certificate(short.certificateDer).validTo);
  let now = Date.now();
  const events = new RecordingSink();
  const shortIssuer = new Issuer({ current: short }, { current: policy }, events, quiet, () => now);

  const r = await shortIssuer.issue(request());
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.equal(r.certificate.notAfter.getTime(), caEnd);
  assert.equal(r.certificate.capped, 'issuing-ca-expiry');
  assert.equal(Date.parse(new X509Certificate(r.certificate.der).validTo), caEnd);
  const e = events.events[0]!;
  assert.ok(e.kind === 'issued');
  assert.equal(e.notAfter, new Date(caEnd).toISOString());
  assert.equal(e.capped, 'issuing-ca-expiry');
  assert.ok(shortIssuer.caSecondsLeft() > 0 && shortIssuer.caSecondsLeft() < 0.011 * 86400);
  assert.equal(shortIssuer.caUnavailable(), null);

  // The long-lived CA of the other tests caps nothing.
  const uncapped = await issuer.issue(request());
  assert.ok(uncapped.ok);
  assert.equal(uncapped.certificate.capped, null);

  now = caEnd + 1000;
  const refused = await shortIssuer.issue(request());
  assert.ok(!refused.ok);
  assert.equal(refused.error.kind, 'unavailable');
  assert.ok(refused.error.kind === 'unavailable' && refused.error.service === 'ca');
  assert.match(refused.error.message, /issuing CA expired/);
  assert.equal(events.events.length, 1, 'nothing more was recorded: nothing was issued');
  assert.ok(shortIssuer.caSecondsLeft() < 0);
  assert.ok(shortIssuer.caUnavailable());
});

test('the Issuer signs with whatever signer its slot holds now (what a rotation swaps)', async (t) => {
  const otherDir = scratchDir('issuer-other-');
  t.after(() => rmSync(otherDir, { recursive: true, force: true }));
  const made = await initCa(otherDir, { trustDomain: 'example.org' });
  assert.ok(made.ok);
  const next = openFileSigner(made.paths).signer;
  const slot = new SignerSlot(signer);
  const rotating = new Issuer(slot, { current: policy }, new RecordingSink(), quiet);
  const before = rotating.issuerKeyId;
  assert.equal(slot.swap(next), signer);
  const r = await rotating.issue(request());
  assert.ok(r.ok);
  assert.notEqual(rotating.issuerKeyId, before);
  assert.equal(rotating.issuerKeyId, next.keyId.toString('hex'));
  assert.ok(new X509Certificate(r.certificate.der).verify(new X509Certificate(next.certificateDer).publicKey));
  assert.ok(rotating.issuingCertificate.equals(next.certificateDer));
});
