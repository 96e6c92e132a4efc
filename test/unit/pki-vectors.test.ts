// Pinned bytes: fixed keys, serials and times go through the product's encoders, and what comes
// out must be exactly the DER recorded in test/fixtures/pki/vectors.json. Any change to what the
// CA writes, intended or not, shows up here as a diff to review. ECDSA signatures are randomized,
// so the signed parts are pinned up to the signature, which is verified instead; openssl reads
// every signed object back as an outside check that the pinned bytes are what they claim to be.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LeafProfile, assembleCertificate, caTbs, distinguishedName, keyIdentifier, serverTbs, toPem } from '../../src/pki/certificate.js';
import { encodeCsr } from '../../src/pki/csr-encode.js';
import { bytesOf, childrenOf, readWhole } from '../../src/pki/der.js';
import { publicKeyBits, signEcdsaSha256, spkiDer } from '../../src/pki/keys.js';
import { certsOnly } from '../../src/pki/pkcs7.js';
import { scratchDir } from '../support/scratch.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/pki');
const pinned = JSON.parse(readFileSync(join(FIXTURES, 'vectors.json'), 'utf8')) as Record<string, string>;

function key(name: string): { privateKey: KeyObject; spki: Buffer; bits: Buffer } {
  const privateKey = createPrivateKey(readFileSync(join(FIXTURES, `${name}-key.pem`), 'utf8'));
  const spki = spkiDer(privateKey);
  return { privateKey, spki, bits: publicKeyBits(spki) };
}

const root = key('root');
const issuing = key('issuing');
const leaf = key('leaf');
const server = key('server');
const serial = (first: number) => Buffer.from(Array.from({ length: 16 }, (_, i) => (i === 0 ? first : i * 17) & 0xff));
const NOT_BEFORE = new Date('2026-01-01T00:00:00Z');
const NOT_AFTER_CA = new Date('2036-01-01T00:00:00Z');
const NOT_AFTER_LEAF = new Date('2026-01-01T01:00:00Z');
const TD = 'spiffe://example.org';

const rootSubject = distinguishedName({ organization: 'workload-ca vectors', commonName: 'Vectors Root CA' });
const issuingSubject = distinguishedName({ organization: 'workload-ca vectors', commonName: 'Vectors Issuing CA' });
const rootId = { subject: rootSubject, keyId: keyIdentifier(root.bits) };
const issuingId = { subject: issuingSubject, keyId: keyIdentifier(issuing.bits) };

const vectors = {
  rootTbs: caTbs({
    serial: serial(0x01),
    subject: rootSubject,
    issuer: 'self',
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER_CA,
    spki: root.spki,
    publicKeyBits: root.bits,
    spiffeId: TD,
  }),
  issuingTbs: caTbs({
    serial: serial(0x02),
    subject: issuingSubject,
    issuer: rootId,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER_CA,
    spki: issuing.spki,
    publicKeyBits: issuing.bits,
    pathLength: 0,
    spiffeId: TD,
  }),
  leafTbs: new LeafProfile(issuingId).tbs({
    serial: serial(0x03),
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER_LEAF,
    spki: leaf.spki,
    publicKeyBits: leaf.bits,
    names: { uris: [`${TD}/ns/payments/sa/api`], dnsNames: ['api.payments.example.org'], ipAddresses: ['10.1.2.3', '2001:db8::7'] },
  }),
  serverTbs: serverTbs({
    serial: serial(0x04),
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER_LEAF,
    spki: server.spki,
    publicKeyBits: server.bits,
    issuer: issuingId,
    commonName: 'workload-ca',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  }),
};

/** A well-formed ECDSA-Sig-Value (r = s = 1): the PKCS#7 vector needs certificates with fixed bytes. */
const FIXED_SIGNATURE = Buffer.from('3006020101020101', 'hex');

function check(name: string, actual: Buffer): void {
  assert.equal(actual.toString('hex'), pinned[name], `${name} changed; if intended, review it and update vectors.json`);
}

test('the root, issuing CA, leaf and server certificate bodies are the pinned DER', () => {
  for (const [name, tbs] of Object.entries(vectors)) check(name, tbs);
});

test('signed with the fixed keys, each certificate verifies and openssl reads it as pinned', () => {
  const dir = scratchDir('wlca-vectors-');
  try {
    const signer = { rootTbs: root, issuingTbs: root, leafTbs: issuing, serverTbs: issuing } as const;
    const certs = Object.fromEntries(
      Object.entries(vectors).map(([name, tbs]) => [
        name,
        assembleCertificate(tbs, signEcdsaSha256(signer[name as keyof typeof signer].privateKey, tbs)),
      ]),
    );
    const [rootCert, issuingCert, leafCert, serverCert] = [certs.rootTbs!, certs.issuingTbs!, certs.leafTbs!, certs.serverTbs!].map(
      (d) => new X509Certificate(d),
    );
    assert.ok(rootCert!.verify(createPublicKey(root.privateKey)));
    assert.ok(issuingCert!.verify(createPublicKey(root.privateKey)));
    assert.ok(leafCert!.verify(createPublicKey(issuing.privateKey)));
    assert.ok(serverCert!.verify(createPublicKey(issuing.privateKey)));

    writeFileSync(join(dir, 'root.pem'), toPem(certs.rootTbs!));
    writeFileSync(join(dir, 'issuing.pem'), toPem(certs.issuingTbs!));
    writeFileSync(join(dir, 'leaf.pem'), toPem(certs.leafTbs!));
    writeFileSync(join(dir, 'server.pem'), toPem(certs.serverTbs!));
    const verifyAt = String(Math.floor(NOT_BEFORE.getTime() / 1000) + 60);
    for (const c of ['leaf', 'server']) {
      const out = execFileSync(
        'openssl',
        ['verify', '-attime', verifyAt, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), join(dir, `${c}.pem`)],
        { encoding: 'utf8' },
      );
      assert.match(out, /: OK/);
    }
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(text, /Serial Number:\s+03:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff/);
    assert.match(
      text,
      /URI:spiffe:\/\/example\.org\/ns\/payments\/sa\/api, DNS:api\.payments\.example\.org, IP Address:10\.1\.2\.3, IP Address:2001:DB8:0:0:0:0:0:7/,
    );
    assert.match(text, /Not After : Jan {2}1 01:00:00 2026 GMT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the PKCS#7 certs-only reply around fixed certificates is the pinned DER, and openssl lists both', () => {
  const a = assembleCertificate(vectors.rootTbs, FIXED_SIGNATURE);
  const b = assembleCertificate(vectors.issuingTbs, FIXED_SIGNATURE);
  const p7 = certsOnly([b, a]);
  check('certsOnly', p7);
  assert.deepEqual(certsOnly([a, b]), p7, 'a DER SET OF does not depend on the order given');
  const out = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], { input: p7, encoding: 'utf8' });
  assert.match(out, /subject=O = workload-ca vectors, CN = Vectors Root CA/);
  assert.match(out, /subject=O = workload-ca vectors, CN = Vectors Issuing CA/);
});

test('encodeCsr writes the pinned request body, signed so that openssl verifies it', () => {
  const csr = encodeCsr(leaf.privateKey, distinguishedName({ commonName: 'device-7' }), {
    uris: [`${TD}/gateway/gw-1/device/7`],
    dnsNames: ['device-7.example.org'],
    ipAddresses: ['192.0.2.7'],
  });
  const [info, , sig] = childrenOf(csr, readWhole(csr));
  const infoDer = Buffer.from(bytesOf(csr, info!));
  check('csrInfo', infoDer);
  assert.ok(verify('sha256', infoDer, createPublicKey(leaf.privateKey), Buffer.from(bytesOf(csr, sig!)).subarray(3)));
  const out = execFileSync('openssl', ['req', '-inform', 'DER', '-verify', '-noout', '-text'], {
    input: csr,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  assert.match(out, /Subject: CN = device-7/);
  assert.match(out, /URI:spiffe:\/\/example\.org\/gateway\/gw-1\/device\/7, DNS:device-7\.example\.org, IP Address:192\.0\.2\.7/);
});
