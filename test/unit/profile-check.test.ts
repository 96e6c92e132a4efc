// The read-back that guards every release (src/pki/profile-check.ts) must refuse each way a leaf
// can be wrong. The certificates here are put together with the tests' own DER writer, not the
// CA's encoder, so a bug shared by the writer and the checker cannot hide.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { checkLeafProfile, type LeafExpectation } from '../../src/pki/profile-check.js';
import { OIDS as O, TRUE, commonNameOnly, hex, oid, seq, tlv } from '../support/der.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const OIDS = Object.fromEntries(Object.entries(O).map(([k, v]) => [k, oid(v)])) as Record<keyof typeof O, Buffer>;
const ext = (id: Buffer, critical: boolean, value: Buffer) => (critical ? seq(id, TRUE, tlv(0x04, value)) : seq(id, tlv(0x04, value)));
const utcTime = (d: Date) => tlv(0x17, ascii(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));

const leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
const issuerKeyId = createHash('sha1').update('issuer').digest();
const issuerSubject = commonNameOnly('Test Issuing CA');
const keyBits = (spki: Buffer) => spki.subarray(spki.length - 65);
const ski = (spki: Buffer) => createHash('sha1').update(keyBits(spki)).digest();
const SPIFFE = 'spiffe://example.org/ns/a/sa/b';
const NOT_BEFORE = new Date('2026-03-01T00:00:00Z');
const NOT_AFTER = new Date('2026-03-01T01:00:00Z');

/** Every field of a correct leaf, each replaceable by a test. */
function parts() {
  return {
    version: hex('a0 03 020102'),
    serial: tlv(0x02, hex('01 112233445566778899aabbccddeeff')),
    tbsAlg: seq(OIDS.ecdsaWithSha256),
    issuer: issuerSubject,
    validity: seq(utcTime(NOT_BEFORE), utcTime(NOT_AFTER)),
    subject: seq(),
    spki: leafKey,
    extensions: {
      bc: ext(OIDS.basicConstraints, true, seq()),
      ku: ext(OIDS.keyUsage, true, hex('03 02 07 80')),
      eku: ext(OIDS.extKeyUsage, false, seq(OIDS.serverAuth, OIDS.clientAuth)),
      aki: ext(OIDS.authorityKeyIdentifier, false, seq(tlv(0x80, issuerKeyId))),
      san: ext(OIDS.subjectAltName, true, seq(tlv(0x86, ascii(SPIFFE)), tlv(0x82, ascii('b.example.org')), tlv(0x87, hex('0a000001')))),
      ski: ext(OIDS.subjectKeyIdentifier, false, tlv(0x04, ski(leafKey))),
    } as Record<string, Buffer>,
    extra: [] as Buffer[],
    outerAlg: seq(OIDS.ecdsaWithSha256),
    signature: tlv(0x03, hex('00 3006020101020101')),
  };
}
type Parts = ReturnType<typeof parts>;

function build(p: Parts): Buffer {
  const tbs = seq(p.version, p.serial, p.tbsAlg, p.issuer, p.validity, p.subject, p.spki, tlv(0xa3, seq(...Object.values(p.extensions))), ...p.extra);
  return seq(tbs, p.outerAlg, p.signature);
}

const want: LeafExpectation = {
  issuerSubject,
  issuerKeyId,
  spki: leafKey,
  names: { uris: [SPIFFE], dnsNames: ['b.example.org'], ipAddresses: ['10.0.0.1'] },
  notBefore: NOT_BEFORE,
  notAfter: NOT_AFTER,
};

test('a correct leaf, written independently of the CA, passes', () => {
  assert.equal(checkLeafProfile(build(parts()), want), null);
});

const cases: [string, (p: Parts) => void | Buffer, RegExp][] = [
  ['garbage', () => hex('3003 020101'), /three fields|does not decode/],
  ['trailing bytes after the certificate', (p) => Buffer.concat([build(p), hex('00')]), /does not decode/],
  ['no signature', (p) => seq(seq(p.version), p.outerAlg), /three fields|does not decode/],
  ['outer algorithm ecdsa-with-SHA384', (p) => void (p.outerAlg = seq(OIDS.ecdsaWithSha384)), /signature is not ecdsa-with-SHA256/],
  ['algorithm with parameters', (p) => void (p.outerAlg = seq(OIDS.ecdsaWithSha256, hex('0500'))), /does not decode/],
  ['an extra TBS field', (p) => void p.extra.push(hex('0500')), /wrong number of fields/],
  ['version 1', (p) => void (p.version = hex('a0 03 020100')), /not version 3/],
  ['a 15-byte serial', (p) => void (p.serial = tlv(0x02, hex('01112233445566778899aabbccddee'))), /serial/],
  ['a negative serial', (p) => void (p.serial = tlv(0x02, hex('81112233445566778899aabbccddeeff'))), /serial/],
  ['TBS algorithm ecdsa-with-SHA384', (p) => void (p.tbsAlg = seq(OIDS.ecdsaWithSha384)), /TBS signature algorithm/],
  ['another issuer', (p) => void (p.issuer = commonNameOnly('Someone Else')), /issuer is not/],
  ['another notAfter', (p) => void (p.validity = seq(utcTime(NOT_BEFORE), utcTime(new Date(NOT_AFTER.getTime() + 1000)))), /validity/],
  ['a subject', (p) => void (p.subject = issuerSubject), /subject must be empty/],
  ['another public key', (p) => void (p.spki = otherKey), /public key/],
  ['a duplicate extension', (p) => void (p.extensions.ku2 = p.extensions.ku!), /duplicate extension/],
  ['a missing extension', (p) => void delete p.extensions.ski, /unexpected extension set/],
  [
    'an extension the profile does not have',
    (p) => void (p.extensions.crl = ext(OIDS.crlDistributionPoints, false, seq())),
    /unexpected extension set/,
  ],
  ['basicConstraints not critical', (p) => void (p.extensions.bc = ext(OIDS.basicConstraints, false, seq())), /basicConstraints/],
  ['basicConstraints cA=true', (p) => void (p.extensions.bc = ext(OIDS.basicConstraints, true, seq(TRUE))), /basicConstraints/],
  ['keyUsage keyCertSign', (p) => void (p.extensions.ku = ext(OIDS.keyUsage, true, hex('03 02 01 06'))), /keyUsage/],
  ['keyUsage not critical', (p) => void (p.extensions.ku = ext(OIDS.keyUsage, false, hex('03 02 07 80'))), /keyUsage/],
  ['EKU serverAuth only', (p) => void (p.extensions.eku = ext(OIDS.extKeyUsage, false, seq(OIDS.serverAuth))), /EKU/],
  [
    'EKU with codeSigning instead of clientAuth',
    (p) => void (p.extensions.eku = ext(OIDS.extKeyUsage, false, seq(OIDS.serverAuth, OIDS.codeSigning))),
    /EKU/,
  ],
  ['AKI of another key', (p) => void (p.extensions.aki = ext(OIDS.authorityKeyIdentifier, false, seq(tlv(0x80, Buffer.alloc(20, 7))))), /AKI/],
  [
    'AKI with an issuer name too',
    (p) => void (p.extensions.aki = ext(OIDS.authorityKeyIdentifier, false, seq(tlv(0x80, issuerKeyId), tlv(0xa1, seq())))),
    /AKI/,
  ],
  ['SKI of another key', (p) => void (p.extensions.ski = ext(OIDS.subjectKeyIdentifier, false, tlv(0x04, ski(otherKey)))), /SKI/],
  ['SAN not critical', (p) => void (p.extensions.san = ext(OIDS.subjectAltName, false, seq(tlv(0x86, ascii(SPIFFE))))), /SAN must be critical/],
  [
    'two URI SANs',
    (p) =>
      void (p.extensions.san = ext(
        OIDS.subjectAltName,
        true,
        seq(tlv(0x86, ascii(SPIFFE)), tlv(0x86, ascii(`${SPIFFE}2`)), tlv(0x82, ascii('b.example.org')), tlv(0x87, hex('0a000001'))),
      )),
    /exactly the one SPIFFE ID/,
  ],
  [
    'another SPIFFE ID',
    (p) =>
      void (p.extensions.san = ext(
        OIDS.subjectAltName,
        true,
        seq(tlv(0x86, ascii(`${SPIFFE}x`)), tlv(0x82, ascii('b.example.org')), tlv(0x87, hex('0a000001'))),
      )),
    /exactly the one SPIFFE ID/,
  ],
  [
    'another DNS name',
    (p) =>
      void (p.extensions.san = ext(
        OIDS.subjectAltName,
        true,
        seq(tlv(0x86, ascii(SPIFFE)), tlv(0x82, ascii('c.example.org')), tlv(0x87, hex('0a000001'))),
      )),
    /DNS SANs/,
  ],
  [
    'another IP address',
    (p) =>
      void (p.extensions.san = ext(
        OIDS.subjectAltName,
        true,
        seq(tlv(0x86, ascii(SPIFFE)), tlv(0x82, ascii('b.example.org')), tlv(0x87, hex('0a000002'))),
      )),
    /IP SANs/,
  ],
  [
    'an email SAN besides',
    (p) =>
      void (p.extensions.san = ext(
        OIDS.subjectAltName,
        true,
        seq(tlv(0x86, ascii(SPIFFE)), tlv(0x82, ascii('b.example.org')), tlv(0x87, hex('0a000001')), tlv(0x81, ascii('a@example.org'))),
      )),
    /unexpected SAN entries/,
  ],
];

for (const [name, mutate, refusal] of cases) {
  test(`refuses ${name}`, () => {
    const p = parts();
    const replaced = mutate(p);
    const der = replaced instanceof Buffer ? replaced : build(p);
    const problem = checkLeafProfile(der, want);
    assert.notEqual(problem, null, 'accepted');
    assert.match(problem!, refusal);
  });
}

// A rule may ask for a CRL Distribution Points extension: then, and only then, exactly that one is accepted.
const CRL_URL = 'http://pki.example.org/crl/0a0b.crl';
const cdp = (url: string, critical = false) => ext(OIDS.crlDistributionPoints, critical, seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, ascii(url)))))));
const withCdp: LeafExpectation = { ...want, crlDistributionPoint: CRL_URL };

test('the CRL distribution point the rule asked for passes', () => {
  const p = parts();
  p.extensions.crl = cdp(CRL_URL);
  assert.equal(checkLeafProfile(build(p), withCdp), null);
  assert.match(checkLeafProfile(build(p), { ...want, crlDistributionPoint: null }) ?? '', /unexpected extension set/, 'not asked for');
});

const cdpCases: [string, (p: Parts) => void, RegExp][] = [
  ['no CRL distribution point when one was asked for', () => undefined, /unexpected extension set/],
  ['another CRL URL', (p) => void (p.extensions.crl = cdp(`${CRL_URL}x`)), /CRL distribution point/],
  ['a critical CRL distribution point', (p) => void (p.extensions.crl = cdp(CRL_URL, true)), /CRL distribution point/],
  [
    'two distribution points',
    (p) =>
      void (p.extensions.crl = ext(
        OIDS.crlDistributionPoints,
        false,
        seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, ascii(CRL_URL))))), seq(tlv(0xa0, tlv(0xa0, tlv(0x86, ascii(CRL_URL)))))),
      )),
    /CRL distribution point/,
  ],
  [
    'a DNS name instead of a URI',
    (p) => void (p.extensions.crl = ext(OIDS.crlDistributionPoints, false, seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x82, ascii('pki.example.org')))))))),
    /CRL distribution point/,
  ],
];

for (const [name, mutate, refusal] of cdpCases) {
  test(`refuses ${name}`, () => {
    const p = parts();
    mutate(p);
    const problem = checkLeafProfile(build(p), withCdp);
    assert.notEqual(problem, null, 'accepted');
    assert.match(problem!, refusal);
  });
}
