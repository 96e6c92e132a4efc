import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_CSR_BYTES, parseCsr, verifyProofOfPossession } from '../../src/pki/csr.js';
import { fromPem } from '../../src/pki/certificate.js';
import { OID } from '../../src/pki/oids.js';
import { buildCsr, caRequestExtension, keyCertSignExtension, sanExtension, testKey } from '../support/csr.js';
import { scratchDir } from '../support/scratch.js';

function rejected(der: Buffer): { code: string; message: string } {
  const r = parseCsr(der);
  assert.equal(r.ok, false, 'CSR should have been rejected');
  return (r as { ok: false; error: { code: string; message: string } }).error;
}

test('a CSR from openssl parses, and its signature proves possession', async () => {
  const dir = scratchDir('csr-');
  try {
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'k.pem')]);
    execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      join(dir, 'k.pem'),
      '-subj',
      '/CN=web.example.org',
      '-out',
      join(dir, 'r.csr'),
      '-addext',
      'subjectAltName=URI:spiffe://example.org/web,DNS:web.example.org,IP:10.1.2.3,IP:fd00::1',
    ]);
    const der = fromPem(readFileSync(join(dir, 'r.csr'), 'utf8'), 'CERTIFICATE REQUEST')[0]!;
    const r = parseCsr(der);
    assert.ok(r.ok);
    assert.equal(r.csr.keyKind, 'ecdsa-p256');
    assert.equal(r.csr.commonName, 'web.example.org');
    assert.deepEqual(r.csr.requested, { uris: ['spiffe://example.org/web'], dnsNames: ['web.example.org'], ipAddresses: ['10.1.2.3', 'fd00::1'] });
    assert.equal(verifyProofOfPossession(r.csr), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('key types: P-384 and RSA-2048 parse (policy decides); secp256k1 and RSA-1024 are refused', () => {
  for (const [type, kind] of [
    ['p384', 'ecdsa-p384'],
    ['rsa2048', 'rsa-2048'],
  ] as const) {
    const r = parseCsr(buildCsr({ key: testKey(type) }).der);
    assert.ok(r.ok, type);
    assert.equal(r.csr.keyKind, kind);
  }
  assert.equal(rejected(buildCsr({ key: testKey('secp256k1') }).der).code, 'unsupported-key');
  assert.match(rejected(buildCsr({ key: testKey('secp256k1') }).der).message, /1\.3\.132\.0\.10/);
  assert.equal(rejected(buildCsr({ key: testKey('rsa1024') }).der).code, 'unsupported-key');
});

test('a bad signature fails proof of possession', async () => {
  const r = parseCsr(buildCsr({ badSignature: true }).der);
  assert.ok(r.ok);
  assert.equal(verifyProofOfPossession(r.csr), false);
});

test('trailing bytes, truncation and BER-only encodings are malformed', () => {
  assert.match(rejected(buildCsr({ trailing: Buffer.from([0]) }).der).message, /trailing/);
  const good = buildCsr().der;
  assert.equal(rejected(good.subarray(0, good.length - 1)).code, 'malformed');
  // Re-encode the outer length in long form with a leading zero: valid BER, invalid DER.
  const ber = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, good[1]!]), good.subarray(2)]);
  assert.equal(rejected(ber).code, 'malformed');
  assert.equal(rejected(Buffer.from('not a csr')).code, 'malformed');
  assert.equal(rejected(Buffer.alloc(0)).code, 'malformed');
});

test('duplicate extensions are refused', () => {
  const san = sanExtension({ uris: ['spiffe://example.org/a'] });
  assert.equal(rejected(buildCsr({ extensions: [san, san] }).der).code, 'duplicate-extension');
});

test('requests for cA=true or keyCertSign parse: they are ignored, never copied', () => {
  const r = parseCsr(buildCsr({ extensions: [caRequestExtension, keyCertSignExtension] }).der);
  assert.ok(r.ok);
  assert.deepEqual(r.csr.requested, { uris: [], dnsNames: [], ipAddresses: [] });
});

test('size and name-count limits: 10,000 SANs exceed 8 KiB; 101 SANs exceed the name limit', () => {
  const huge = buildCsr({ extensions: [sanExtension({ dns: Array.from({ length: 10_000 }, (_, i) => `h${i}.example.org`) })] }).der;
  assert.ok(huge.length > MAX_CSR_BYTES);
  assert.equal(rejected(huge).code, 'too-large');
  const many = buildCsr({ extensions: [sanExtension({ dns: Array.from({ length: 101 }, (_, i) => `h${i}.x`) })] }).der;
  assert.ok(many.length <= MAX_CSR_BYTES);
  assert.equal(rejected(many).code, 'too-many-names');
});

test('unsupported SAN types are refused rather than dropped', () => {
  const email = { oid: OID.subjectAltName, value: Buffer.from([0x30, 0x05, 0x81, 0x03, 0x61, 0x40, 0x62]) };
  assert.equal(rejected(buildCsr({ extensions: [email] }).der).code, 'unsupported-name');
});
