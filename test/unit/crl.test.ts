// The CRL encoder (src/pki/crl.ts), read back by independent parsers: pkijs, node:crypto for the
// signature, and openssl. The issuing CA is a real one made by the key ceremony.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { initCa } from '../../src/ca/ceremony.js';
import { openFileSigner } from '../../src/ca/file-signer.js';
import { crlDistributionPointProblems, crlUrl } from '../../src/ca/crl-url.js';
import { signCrl, type CrlEntry } from '../../src/pki/crl.js';
import type { Signer } from '../../src/pki/signer.js';
import { parsePolicy } from '../../src/policy/index.js';
import { scratchDir } from '../support/scratch.js';

const dir = scratchDir('crl-');
let ca: { issuingDer: Buffer };
let signer: Signer;

before(async () => {
  const r = await initCa(join(dir, 'ca'), { trustDomain: 'example.org' });
  assert.ok(r.ok);
  signer = openFileSigner(r.paths).signer;
  ca = { issuingDer: signer.certificateDer };
});
after(() => rmSync(dir, { recursive: true, force: true }));

const THIS_UPDATE = new Date('2026-03-01T10:00:00Z');
const NEXT_UPDATE = new Date('2026-03-02T10:00:00Z');
const serial = (hex: string) => Buffer.from(hex, 'hex');

function parse(der: Buffer): pkijs.CertificateRevocationList {
  const asn = asn1js.fromBER(new Uint8Array(der).buffer);
  assert.equal(asn.offset, der.length, 'no trailing bytes');
  return new pkijs.CertificateRevocationList({ schema: asn.result });
}

/** The signature over the TBSCertList, checked with node:crypto against the issuing certificate's key. */
function signatureVerifies(crl: pkijs.CertificateRevocationList): boolean {
  const tbs = Buffer.from(crl.tbsView);
  const sig = Buffer.from(crl.signatureValue.valueBlock.valueHexView);
  return verify('sha256', tbs, new X509Certificate(ca.issuingDer).publicKey, sig);
}

const extension = (exts: pkijs.Extension[] | undefined, oid: string) => exts?.find((e) => e.extnID === oid);

test('a v2 CRL with entries: signed by the issuing key, issuer, times, number, AKI and reasons as given', async () => {
  const entries: CrlEntry[] = [
    { serial: serial('7f112233445566778899aabbccddeeff'), revokedAt: new Date('2026-03-01T09:00:00Z'), reason: 1 },
    { serial: serial('01112233445566778899aabbccddeeff'), revokedAt: new Date('2026-03-01T08:00:00Z'), reason: 0 },
    { serial: serial('3a112233445566778899aabbccddeeff'), revokedAt: new Date('2026-03-01T08:30:00Z'), reason: 4 },
    { serial: serial('4b112233445566778899aabbccddeeff'), revokedAt: new Date('2026-03-01T08:45:00Z'), reason: 8 },
  ];
  const der = await signCrl(signer, { number: 41n, thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE, entries });
  const crl = parse(der);
  assert.equal(crl.version, 1, 'v2');
  assert.equal(crl.signature.algorithmId, '1.2.840.10045.4.3.2');
  assert.ok(signatureVerifies(crl), 'the issuing key signed it');
  assert.ok(await crl.verify({ issuerCertificate: pkijs.Certificate.fromBER(new Uint8Array(ca.issuingDer)) }), 'pkijs verifies it too');
  const issuing = pkijs.Certificate.fromBER(new Uint8Array(ca.issuingDer));
  assert.ok(crl.issuer.isEqual(issuing.subject), 'issuer is the issuing CA subject');
  assert.equal(crl.thisUpdate.value.getTime(), THIS_UPDATE.getTime());
  assert.equal(crl.nextUpdate!.value.getTime(), NEXT_UPDATE.getTime());
  assert.equal(crl.thisUpdate.type, 0, 'UTCTime before 2050');

  const number = extension(crl.crlExtensions?.extensions, '2.5.29.20');
  assert.ok(number && !number.critical);
  assert.equal((number.parsedValue as asn1js.Integer).valueBlock.valueDec, 41);
  const aki = extension(crl.crlExtensions?.extensions, '2.5.29.35');
  assert.ok(aki);
  assert.equal(
    Buffer.from((aki.parsedValue as pkijs.AuthorityKeyIdentifier).keyIdentifier!.valueBlock.valueHexView).toString('hex'),
    signer.keyId.toString('hex'),
  );

  const listed = crl.revokedCertificates!.map((r) => ({
    serial: Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex'),
    at: r.revocationDate.value.toISOString(),
    reason: extension(r.crlEntryExtensions?.extensions, '2.5.29.21')?.parsedValue?.valueBlock.valueDec as number | undefined,
  }));
  assert.deepEqual(listed, [
    { serial: '01112233445566778899aabbccddeeff', at: '2026-03-01T08:00:00.000Z', reason: undefined },
    { serial: '3a112233445566778899aabbccddeeff', at: '2026-03-01T08:30:00.000Z', reason: 4 },
    { serial: '4b112233445566778899aabbccddeeff', at: '2026-03-01T08:45:00.000Z', reason: undefined },
    { serial: '7f112233445566778899aabbccddeeff', at: '2026-03-01T09:00:00.000Z', reason: 1 },
  ]);

  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: der }).toString();
  assert.match(text, /Version 2 \(0x1\)/);
  assert.match(text, /X509v3 CRL Number:\s*\n\s*41/);
  assert.match(text, /Serial Number: 3A112233445566778899AABBCCDDEEFF[\s\S]*?Key Compromise/);
  assert.match(text, /Serial Number: 7F112233445566778899AABBCCDDEEFF[\s\S]*?Key Compromise/);
  assert.doesNotMatch(text, /Remove From CRL|Unspecified/, 'unspecified and removeFromCRL carry no reason code');
});

test('an empty CRL has no revokedCertificates field and still verifies; times after 2049 are GeneralizedTime', async () => {
  const thisUpdate = new Date('2050-01-01T00:00:00Z');
  const der = await signCrl(signer, { number: 1n, thisUpdate, nextUpdate: new Date('2050-01-02T00:00:00Z'), entries: [] });
  const crl = parse(der);
  assert.equal(crl.revokedCertificates, undefined);
  assert.ok(signatureVerifies(crl));
  assert.equal(crl.thisUpdate.type, 1, 'GeneralizedTime');
  assert.equal(crl.thisUpdate.value.getTime(), thisUpdate.getTime());
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: der }).toString();
  assert.match(text, /No Revoked Certificates/);
});

test('CRL numbers past 2^53 and up to 20 octets encode exactly; nonsense is refused', async () => {
  const big = (1n << 158n) + 12345n;
  const crl = parse(await signCrl(signer, { number: big, thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE, entries: [] }));
  const n = extension(crl.crlExtensions?.extensions, '2.5.29.20')!.parsedValue as asn1js.Integer;
  assert.equal(BigInt(`0x${Buffer.from(n.valueBlock.valueHexView).toString('hex')}`), big);
  await assert.rejects(signCrl(signer, { number: 1n << 160n, thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE, entries: [] }), /20 octets/);
  await assert.rejects(signCrl(signer, { number: 1n, thisUpdate: NEXT_UPDATE, nextUpdate: THIS_UPDATE, entries: [] }), /after thisUpdate/);
});

test('a rule asking for a CRL distribution point needs crl.publicUrl; the URL names the issuer', () => {
  const parsed = parsePolicy(
    [
      'version: 1',
      'guardrails: { trustDomain: example.org }',
      'rules:',
      '  - name: devices',
      '    match: { est: { label: devices } }',
      '    grant: { spiffeId: "spiffe://example.org/device/x", crlDistributionPoint: true }',
      '  - name: svids',
      '    match: { token: { issuer: "https://issuer.test" } }',
      '    grant: { spiffeId: "spiffe://example.org/w" }',
    ].join('\n'),
  );
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
  assert.deepEqual(
    parsed.policy.rules.map((r) => r.grant.crlDistributionPoint),
    [true, false],
  );
  assert.deepEqual(crlDistributionPointProblems('http://pki.example.org')(parsed.policy), []);
  const problems = crlDistributionPointProblems(null)(parsed.policy);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.path, 'rules[0].grant.crlDistributionPoint');
  assert.match(problems[0]!.message, /crl\.publicUrl/);
  assert.equal(crlUrl('http://pki.example.org/ca', 'ab12'), 'http://pki.example.org/ca/crl/ab12.crl');
});
