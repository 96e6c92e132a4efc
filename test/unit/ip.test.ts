// The one IP codec, byte for byte, and proof that certificate encoding and policy matching use
// the same bytes for the same text.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { formatIp, parseIp } from '../../src/ip/codec.js';
import { assembleCertificate, distinguishedName, ipBytes, keyIdentifier, newSerial, serverTbs } from '../../src/pki/certificate.js';
import { generateP256, publicKeyBits, signEcdsaSha256, spkiDer } from '../../src/pki/keys.js';
import { parseIp as policyParseIp } from '../../src/policy/ip.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Text, and the exact iPAddress bytes RFC 5280 §4.2.1.6 wants for it. */
const CASES: [string, Buffer][] = [
  ['10.0.0.1', hex('0a000001')],
  ['0.0.0.0', hex('00000000')],
  ['255.255.255.255', hex('ffffffff')],
  ['::', hex('00000000 00000000 00000000 00000000')],
  ['::1', hex('00000000 00000000 00000000 00000001')],
  ['fd00::', hex('fd000000 00000000 00000000 00000000')],
  ['2001:db8::1', hex('20010db8 00000000 00000000 00000001')],
  ['2001:DB8:0:0:1::1', hex('20010db8 00000000 00010000 00000001')],
  ['2001:db8:85a3:8d3:1319:8a2e:370:7348', hex('20010db8 85a308d3 13198a2e 03707348')],
  ['fe80::abcd:ef01', hex('fe800000 00000000 00000000 abcdef01')],
  // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2): 16 bytes, never the 4-byte IPv4 address.
  ['::ffff:10.0.0.1', hex('00000000 00000000 0000ffff 0a000001')],
  ['::ffff:a00:1', hex('00000000 00000000 0000ffff 0a000001')],
  ['::FFFF:192.168.1.254', hex('00000000 00000000 0000ffff c0a801fe')],
  ['64:ff9b::192.0.2.33', hex('0064ff9b 00000000 00000000 c0000221')],
  ['1:2:3:4:5:6:1.2.3.4', hex('00010002 00030004 00050006 01020304')],
];

const REFUSED = [
  '',
  '10.0.0',
  '10.0.0.256',
  '010.0.0.1',
  'fe80::1%eth0',
  'fe80::1%1',
  '::ffff:10.0.0.1%0',
  'example.org',
  '1::2::3',
  '[::1]',
  '::ffff:10.0.0',
  '1:2:3:4:5:6:7:8:9',
];

describe('IP codec', () => {
  test('parses IPv4, IPv6 (compressed and full) and IPv4-mapped IPv6 to the exact bytes', () => {
    for (const [text, bytes] of CASES) {
      const parsed = parseIp(text);
      assert.ok(parsed.ok, text);
      assert.deepEqual(Buffer.from(parsed.bytes), bytes, text);
      assert.equal(parsed.family, bytes.length === 4 ? 4 : 6, text);
    }
  });

  test('refuses what is not an address, zone IDs included, with a reason', () => {
    for (const text of REFUSED) {
      const parsed = parseIp(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.reason, text.includes('%') ? /zone ID/ : /not an IPv4 or IPv6 address/, text);
    }
  });

  test('formats back to canonical text that parses to the same bytes', () => {
    for (const [text, bytes] of CASES) {
      const formatted = formatIp(bytes);
      assert.ok(formatted.ok, text);
      const again = parseIp(formatted.text);
      assert.ok(again.ok, formatted.text);
      assert.deepEqual(Buffer.from(again.bytes), bytes, `${text} -> ${formatted.text}`);
    }
    assert.deepEqual(formatIp(hex('20010db8 00000000 00010000 00000001')), { ok: true, text: '2001:db8::1:0:0:1' });
    assert.deepEqual(formatIp(hex('00010000 00010000 00010000 00010000')), { ok: true, text: '1:0:1:0:1:0:1:0' });
    assert.equal(formatIp(hex('0a0000')).ok, false);
  });
});

describe('certificate encoding and policy matching share the codec', () => {
  test('ipBytes in the certificate encoder writes the exact bytes', () => {
    for (const [text, bytes] of CASES) assert.deepEqual(ipBytes(text), bytes, text);
  });

  test('the certificate encoder refuses zone IDs and non-addresses instead of writing wrong bytes', () => {
    for (const text of REFUSED) assert.throws(() => ipBytes(text), /not an IP address/, text);
  });

  test('policy and certificate encoder agree on every address', () => {
    for (const [text] of CASES) assert.deepEqual(Buffer.from(policyParseIp(text)!), ipBytes(text), text);
  });

  test('a certificate carrying ::ffff:10.0.0.1 decodes (OpenSSL, through node:crypto) to that address', () => {
    const key = generateP256();
    const spki = spkiDer(key.publicKey);
    const now = Date.now();
    const tbs = serverTbs({
      issuer: { subject: distinguishedName({ commonName: 'test' }), keyId: keyIdentifier(publicKeyBits(spki)) },
      commonName: 'test',
      serial: newSerial(),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 60_000),
      spki,
      publicKeyBits: publicKeyBits(spki),
      dnsNames: [],
      ipAddresses: ['::ffff:10.0.0.1', '10.0.0.1'],
    });
    const cert = new X509Certificate(assembleCertificate(tbs, signEcdsaSha256(key.privateKey, tbs)));
    assert.equal(cert.subjectAltName, 'IP Address:0:0:0:0:0:FFFF:A00:1, IP Address:10.0.0.1');
    assert.ok(cert.checkIP('10.0.0.1'));
  });
});
