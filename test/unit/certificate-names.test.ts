// Peer certificate names come from the DER, not from Node's text rendering, which quotes and
// escapes a name holding a comma and renders IPv6 in its own long form: every name is reported
// byte for byte, every kind for what it is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync, sign } from 'node:crypto';
import { readCertificateNames, renderNames } from '../../src/pki/certificate-names.js';
import { OIDS, TRUE, bitString, commonNameOnly, explicit, hex, octets, oid, seq, tlv } from '../support/der.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** A self-signed certificate with the given GeneralNames, written by the tests' own DER writer. */
function certificate(generalNames: Buffer[] | null): Buffer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = commonNameOnly('names');
  const exts = [seq(oid(OIDS.basicConstraints), TRUE, octets(seq()))];
  if (generalNames) exts.push(seq(oid(OIDS.subjectAltName), octets(seq(...generalNames))));
  const tbs = seq(
    explicit(0, hex('020102')),
    hex('020101'),
    seq(oid(OIDS.ecdsaWithSha256)),
    name,
    seq(tlv(0x17, ascii('260101000000Z')), tlv(0x17, ascii('360101000000Z'))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...exts)),
  );
  return seq(tbs, seq(oid(OIDS.ecdsaWithSha256)), bitString(sign('sha256', tbs, privateKey)));
}

test('every kind of name, in order, with a comma inside a URI kept whole', () => {
  const der = certificate([
    tlv(0x86, ascii('spiffe://example.org/ns/a,URI:spiffe://example.org/admin')),
    tlv(0x82, ascii('Gw-1.Example.org')),
    tlv(0x87, hex('0a000001')),
    tlv(0x87, hex('20010db8000000000000000000000001')),
    tlv(0x81, ascii('ops@example.org')),
    tlv(0xa4, commonNameOnly('dir')),
  ]);
  // Node's rendering of the same certificate, which the old code split on ", ", is not the name.
  assert.match(new X509Certificate(der).subjectAltName ?? '', /URI:"spiffe:\/\/example.org\/ns\/a\\u002cURI:spiffe:\/\/example.org\/admin"/);
  const r = readCertificateNames(der);
  assert.ok(r.ok);
  assert.deepEqual(r.names, {
    uris: ['spiffe://example.org/ns/a,URI:spiffe://example.org/admin'],
    dnsNames: ['Gw-1.Example.org'],
    ipAddresses: ['10.0.0.1', '2001:db8::1'],
    emails: ['ops@example.org'],
    otherKinds: [4],
  });
  assert.deepEqual(renderNames(r.names), [
    'URI:spiffe://example.org/ns/a,URI:spiffe://example.org/admin',
    'DNS:Gw-1.Example.org',
    'IP Address:10.0.0.1',
    'IP Address:2001:db8::1',
    'email:ops@example.org',
  ]);
});

test('no subjectAltName is no names; a broken or doubled one is an error, not a guess', () => {
  const none = readCertificateNames(certificate(null));
  assert.ok(none.ok);
  assert.deepEqual(renderNames(none.names), []);
  const badIp = readCertificateNames(certificate([tlv(0x87, hex('0a0000'))]));
  assert.equal(badIp.ok, false);
  const control = readCertificateNames(certificate([tlv(0x86, ascii('spiffe://example.org/a\nb'))]));
  assert.equal(control.ok, false);
  assert.equal(readCertificateNames(Buffer.from('3000', 'hex')).ok, false);
});
