// EST (RFC 7030) end to end: the real CLI serving real HTTPS (two cluster workers), curl and
// openssl as the device and gateway clients, a manufacturer PKI made with openssl, channel
// binding from a real TLS connection, every refusal, and the embedded ledger read back after the
// server stops.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbeddedLedger } from '../../src/ledger/pglite.js';
import { buildCsr } from '../support/csr.js';
import {
  curl,
  expiredSvid,
  manufacturerPki,
  multipartParts,
  openssl,
  opensslCsr,
  pkcs7Certificates,
  rawHttps,
  type CurlResult,
  type ManufacturerPki,
  type RawResponse,
} from '../support/est.js';
import { CLI, https, removeDataDir, ROOT, startServer, type TestServer } from '../support/server.js';
import { scratchDir } from '../support/scratch.js';
import { eventually } from '../support/eventually.js';
import { renewOverKeepAlive, revokeWithOwnKey, revokedDenials } from '../support/revocation.js';

const TD = 'workload-ca.test';
const PASSWORD = 'correct horse battery staple';
const work = scratchDir('wlca-est-');
const dataDir = scratchDir('wlca-est-data-');
let server: TestServer;
let pki: ManufacturerPki;
let est: string;
/** Serials of every certificate a client received; the ledger must hold exactly these. */
const issued = new Set<string>();
/** [rule, code] of every refusal made; each must be in the ledger's denials. */
const refusals: [string, string][] = [];

/** Where relying parties fetch CRLs: long-lived device certificates name it. */
const CRL_BASE = 'http://pki.workload-ca.test';

const POLICY = `version: 1
guardrails:
  trustDomain: ${TD}
  keyAlgorithms: [ecdsa-p256]
  maxLifetime: 7d
rules:
  # A gateway with its factory certificate enrolls its fleet, under its own prefix only.
  - name: est-gateway-fleet
    match: { paths: [est], est: { label: gateways, auth: [trust-anchor], name: "gw-*" } }
    grant: { spiffeId: 'spiffe://{trustDomain}/gateway/{requester.name}/device/*', defaultLifetime: 1d }
  # The "devices" label selects a longer lifetime for factory-certified devices.
  - name: est-manufactured-devices
    match: { paths: [est], est: { label: devices, auth: [trust-anchor] } }
    grant: { spiffeId: 'spiffe://{trustDomain}/device/{requester.name}', defaultLifetime: 3d, maxLifetime: 7d, crlDistributionPoint: true }
  - name: est-bootstrap
    match: { paths: [est], est: { auth: [basic] } }
    grant: { spiffeId: 'spiffe://{trustDomain}/device/{requester.name}', defaultLifetime: 1h }
  - name: est-renewal
    match: { paths: [est], est: { auth: [svid] } }
    grant: { spiffeId: '{requester.spiffeId}', defaultLifetime: 1h }
`;

const file = (name: string, content: string | Buffer): string => {
  const p = join(work, name);
  writeFileSync(p, content);
  return p;
};

function estCurl(path: string, args: string[] = [], input?: string | Buffer): CurlResult {
  return curl(['--cacert', server.rootFile, ...args, `${est}${path}`], input);
}

/** POST a base64 CSR the way RFC 7030 clients do; `--data-binary` keeps the line breaks. */
function enroll(path: string, csrBase64: string, auth: string[], extra: string[] = []): CurlResult {
  return estCurl(path, [...auth, '-H', 'Content-Type: application/pkcs10', ...extra, '--data-binary', '@-'], csrBase64);
}

function certificateOf(res: CurlResult): X509Certificate {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['content-type'], 'application/pkcs7-mime; smime-type=certs-only');
  const certs = pkcs7Certificates(work, res.body);
  assert.equal(certs.length, 1, 'an enrollment reply carries exactly the issued certificate');
  const cert = new X509Certificate(certs[0]!);
  issued.add(cert.serialNumber.toLowerCase());
  return cert;
}

function refused(res: CurlResult, status: number, rule: string, code: string, body: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(res.text, body);
  refusals.push([rule, code]);
}

function verifies(cert: X509Certificate): void {
  const chain = file('issuing.pem', readFileSync(join(server.dataDir, 'ca/issuing-ca.pem')));
  const leaf = file(`leaf-${cert.serialNumber}.pem`, cert.toString());
  assert.match(openssl(['verify', '-CAfile', server.rootFile, '-untrusted', chain, leaf]), /: OK/);
}

const sanOf = (cert: X509Certificate): string => cert.subjectAltName ?? '';
const lifetimeHours = (cert: X509Certificate): number => Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 3600_000);

before(async () => {
  pki = manufacturerPki(join(work, 'pki'));
  writeFileSync(join(dataDir, 'policy.yaml'), POLICY);
  const config = file(
    'config.yaml',
    `crl:\n  publicUrl: ${CRL_BASE}\n` +
      `est:\n  labels:\n    devices: { trustAnchors: [${pki.rootFile}] }\n    gateways: { trustAnchors: [${pki.rootFile}], trustRegistrationAuthorities: true }\n`,
  );
  server = await startServer({ workers: 2, dataDir, env: { WORKLOAD_CA_CONFIG: config } });
  est = `${server.url}/.well-known/est`;
});

after(async () => {
  await server?.stop();
  removeDataDir(work);
  removeDataDir(dataDir);
});

describe('distribution', () => {
  test('cacerts: base64 certs-only PKCS#7 with the root and the issuing CA, on every label', () => {
    for (const path of ['/cacerts', '/devices/cacerts']) {
      const res = estCurl(path);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/pkcs7-mime');
      assert.equal(res.headers['content-transfer-encoding'], 'base64');
      const certs = pkcs7Certificates(work, res.body).map((p) => new X509Certificate(p));
      assert.deepEqual(
        certs.map((c) => c.ca),
        [true, true],
      );
      const root = new X509Certificate(server.rootPem);
      assert.ok(
        certs.some((c) => c.fingerprint256 === root.fingerprint256),
        'the root is published',
      );
      assert.ok(
        certs.some((c) => c.issuer === root.subject && c.subject !== root.subject),
        'the issuing CA is published',
      );
    }
    assert.equal(estCurl('/no-such-label/cacerts').status, 404);
  });

  test('csrattrs: challengePassword, a P-256 key, ecdsa-with-SHA256', () => {
    const res = estCurl('/csrattrs');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/csrattrs');
    const der = file('attrs.der', Buffer.from(res.text, 'base64'));
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', der]);
    assert.match(parsed, /OBJECT\s+:challengePassword/);
    assert.match(parsed, /:id-ecPublicKey\n.*SET *\n.*:prime256v1/);
    assert.match(parsed, /OBJECT\s+:ecdsa-with-SHA256/);
  });
});

describe('enrollment', () => {
  test('HTTP Basic: est user add, then simpleenroll; base64 with or without line breaks and Content-Transfer-Encoding', async () => {
    const add = spawnSync(process.execPath, [...CLI, 'est', 'user', 'add', 'sensor-1'], {
      cwd: join(import.meta.dirname, '../..'),
      env: server.env,
      input: `${PASSWORD}\n`,
      encoding: 'utf8',
    });
    assert.equal(add.status, 0, add.stderr);
    const stored = readFileSync(join(server.dataDir, 'est-users.json'), 'utf8');
    assert.match(stored, /"hash": "scrypt\$32768\$8\$1\$/);
    assert.ok(!stored.includes(PASSWORD), 'only the hash is stored');

    const basic = ['-u', `sensor-1:${PASSWORD}`];
    const csr = opensslCsr(work, 'sensor-1');
    assert.ok(csr.base64.includes('\n'), 'openssl base64 writes line breaks');
    const a = certificateOf(enroll('/simpleenroll', csr.base64, basic, ['-H', 'Content-Transfer-Encoding: base64']));
    assert.equal(sanOf(a), `URI:spiffe://${TD}/device/sensor-1`);
    assert.ok(!a.subject, 'the subject is empty; the SAN names the device');
    assert.doesNotMatch(openssl(['x509', '-noout', '-text'], a.toString()), /CRL Distribution Points/, 'its rule did not ask for one');
    assert.equal(lifetimeHours(a), 1);
    verifies(a);
    // RFC 8951: one line, and no Content-Transfer-Encoding header.
    const b = certificateOf(enroll('/simpleenroll', csr.base64.replace(/\n/g, ''), basic));
    assert.equal(sanOf(b), `URI:spiffe://${TD}/device/sensor-1`);
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  test('a factory certificate on the "devices" label: its CN names the device, the label picks a 3-day lifetime', () => {
    const csr = opensslCsr(work, 'dev-7-own');
    const cert = certificateOf(enroll('/devices/simpleenroll', csr.base64, ['--cert', pki.device.cert, '--key', pki.device.key]));
    assert.equal(sanOf(cert), `URI:spiffe://${TD}/device/dev-7`);
    assert.equal(lifetimeHours(cert), 72);
    verifies(cert);
    // Its rule opts in: a long-lived device certificate names its issuer's CRL.
    const issuing = new X509Certificate(readFileSync(join(server.dataDir, 'ca/issuing-ca.pem')));
    const issuerKeyId = createHash('sha1')
      .update(issuing.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65))
      .digest('hex');
    assert.match(
      openssl(['x509', '-noout', '-text'], cert.toString()),
      new RegExp(`X509v3 CRL Distribution Points: *\\n\\s*Full Name:\\s*\\n\\s*URI:${CRL_BASE}/crl/${issuerKeyId}\\.crl\\n`),
    );
    // The issued certificate is for the CSR's key, not the factory key.
    assert.equal(cert.publicKey.export({ format: 'pem', type: 'spki' }), openssl(['pkey', '-in', csr.key, '-pubout']));
  });

  test('simplereenroll with the current certificate keeps subject and SAN and issues a new serial', () => {
    const csr = opensslCsr(work, 'renew-me');
    const first = certificateOf(enroll('/simpleenroll', csr.base64, ['-u', `sensor-1:${PASSWORD}`]));
    const certFile = file('renew-me.pem', first.toString());
    // Rekey: a new key, the same (empty) subject and the same SAN.
    const rekey = opensslCsr(work, 'renew-me-2', { subject: '/', sans: [`URI:spiffe://${TD}/device/sensor-1`] });
    const second = certificateOf(enroll('/simplereenroll', rekey.base64, ['--cert', certFile, '--key', csr.key]));
    assert.equal(sanOf(second), sanOf(first));
    assert.notEqual(second.serialNumber, first.serialNumber);
    verifies(second);
  });

  test('a certificate revoked through ACME with its own key: simplereenroll is 401 with a denial, on an open keep-alive connection and a new one', async () => {
    const csr = opensslCsr(work, 'revoke-me');
    const first = certificateOf(enroll('/simpleenroll', csr.base64, ['-u', `sensor-1:${PASSWORD}`]));
    const certFile = file('revoke-me.pem', first.toString());
    const again = opensslCsr(work, 'revoke-me-2', { subject: '/', sans: [`URI:spiffe://${TD}/device/sensor-1`] });
    const open = renewOverKeepAlive(server, { cert: first.toString(), key: readFileSync(csr.key, 'utf8') });
    const renewed = await open.post('/.well-known/est/simplereenroll', again.base64, 'application/pkcs10');
    assert.equal(renewed.status, 200, renewed.body);
    for (const pem of pkcs7Certificates(work, renewed.body)) issued.add(new X509Certificate(pem).serialNumber.toLowerCase());

    assert.equal(await revokeWithOwnKey(server, first.toString(), createPrivateKey(readFileSync(csr.key, 'utf8'))), 200);

    const refusedOpen = await open.post('/.well-known/est/simplereenroll', again.base64, 'application/pkcs10');
    assert.equal(refusedOpen.socket, renewed.socket, 'the same connection');
    assert.equal(refusedOpen.status, 401, refusedOpen.body);
    assert.match(refusedOpen.body, /revoked/);
    refusals.push(['est:authentication', 'unauthenticated']);
    open.close();
    refused(enroll('/simplereenroll', again.base64, ['--cert', certFile, '--key', csr.key]), 401, 'est:authentication', 'unauthenticated', /revoked/);
    // Basic on the same connection does not rescue a revoked certificate.
    refused(
      enroll('/simpleenroll', again.base64, ['--cert', certFile, '--key', csr.key, '-u', `sensor-1:${PASSWORD}`]),
      401,
      'est:authentication',
      'unauthenticated',
      /revoked/,
    );
    const headers = { authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}` };
    const serial = first.serialNumber.toLowerCase();
    await eventually('a denial row names the revoked certificate', async () => (await revokedDenials(server, headers, serial)) >= 1, 10_000);
  });

  test('serverkeygen: multipart/mixed with a PKCS#8 P-256 key and the certificate for it', () => {
    const csr = opensslCsr(work, 'keygen', { sans: [`URI:spiffe://${TD}/device/sensor-1`] });
    const res = enroll('/serverkeygen', csr.base64, ['-u', `sensor-1:${PASSWORD}`]);
    assert.equal(res.status, 200, res.text);
    const boundary = /^multipart\/mixed; boundary=(.+)$/.exec(res.headers['content-type'] ?? '')?.[1];
    assert.ok(boundary, res.headers['content-type']);
    const parts = res.text
      .split(`--${boundary}`)
      .slice(1, -1)
      .map((p) => {
        const [head, body] = p.split('\r\n\r\n') as [string, string];
        return { head, body };
      });
    assert.equal(parts.length, 2);
    assert.match(parts[0]!.head, /Content-Type: application\/pkcs8/);
    assert.match(parts[1]!.head, /Content-Type: application\/pkcs7-mime; smime-type=certs-only/);
    const keyDer = file('keygen-server.der', Buffer.from(parts[0]!.body, 'base64'));
    const keyText = openssl(['pkey', '-inform', 'DER', '-in', keyDer, '-noout', '-text']);
    assert.match(keyText, /ASN1 OID: prime256v1/);
    const certs = pkcs7Certificates(work, parts[1]!.body);
    assert.equal(certs.length, 1);
    const cert = new X509Certificate(certs[0]!);
    issued.add(cert.serialNumber.toLowerCase());
    assert.equal(sanOf(cert), `URI:spiffe://${TD}/device/sensor-1`);
    verifies(cert);
    const certFile = file('keygen.pem', certs[0]!);
    const fromKey = openssl(['pkey', '-inform', 'DER', '-in', keyDer, '-pubout']);
    const fromCert = openssl(['x509', '-in', certFile, '-noout', '-pubkey']);
    assert.equal(fromCert, fromKey, 'the certificate is for the key the server made');
    const clientKey = openssl(['pkey', '-in', csr.key, '-pubout']);
    assert.notEqual(fromCert, clientKey, 'and not for the key the client signed its CSR with');
  });
});

describe('wire format: canonical header names, as libest matches them', () => {
  /** Every name in canonical case: each dash-separated word starts upper-case (WWW-Authenticate too). */
  const CANONICAL = /^[A-Z][A-Za-z0-9]*(-[A-Z][A-Za-z0-9]*)*$/;
  const basic = { Authorization: `Basic ${Buffer.from(`sensor-1:${PASSWORD}`).toString('base64')}` };
  const pkcs10 = { 'Content-Type': 'application/pkcs10' };
  const raw = (path: string, opts: Parameters<typeof rawHttps>[2]): Promise<RawResponse> => rawHttps(`${est}${path}`, server.rootPem, opts);

  function canonical(what: string, res: RawResponse, status: number, expected: readonly string[]): void {
    assert.equal(res.status, status, `${what}: ${res.body.toString()}`);
    for (const name of res.headerNames) assert.match(name, CANONICAL, `${what}: header name ${JSON.stringify(name)} is not in canonical case`);
    for (const name of [...expected, 'Content-Length'])
      assert.ok(res.headerNames.includes(name), `${what}: no ${name} header among ${res.headerNames.join(', ')}`);
    assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: Content-Length is the body's length`);
  }

  test('success, the 401 challenge and every error, read as raw bytes off the TLS socket', async () => {
    canonical('cacerts', await raw('/cacerts', { method: 'GET' }), 200, ['Content-Type', 'Content-Transfer-Encoding']);
    canonical('csrattrs', await raw('/gateways/csrattrs', { method: 'GET' }), 200, ['Content-Type', 'Content-Transfer-Encoding']);

    const csr = opensslCsr(work, 'wire-enroll');
    const enrolled = await raw('/simpleenroll', { method: 'POST', headers: { ...basic, ...pkcs10 }, body: csr.base64 });
    canonical('simpleenroll', enrolled, 200, ['Content-Type', 'Content-Transfer-Encoding']);
    assert.equal(enrolled.headers['content-type'], 'application/pkcs7-mime; smime-type=certs-only');
    const current = new X509Certificate(pkcs7Certificates(work, enrolled.body)[0]!);
    issued.add(current.serialNumber.toLowerCase());

    const rekey = opensslCsr(work, 'wire-reenroll', { sans: [`URI:spiffe://${TD}/device/sensor-1`] });
    const renewed = await raw('/simplereenroll', {
      method: 'POST',
      headers: pkcs10,
      body: rekey.base64,
      cert: current.toString(),
      key: readFileSync(csr.key, 'utf8'),
    });
    canonical('simplereenroll', renewed, 200, ['Content-Type', 'Content-Transfer-Encoding']);
    issued.add(new X509Certificate(pkcs7Certificates(work, renewed.body)[0]!).serialNumber.toLowerCase());

    const keygen = await raw('/serverkeygen', { method: 'POST', headers: { ...basic, ...pkcs10 }, body: csr.base64 });
    canonical('serverkeygen', keygen, 200, ['Content-Type']);
    const parts = multipartParts(keygen.headers['content-type']!, keygen.body);
    assert.equal(parts.length, 2);
    for (const part of parts) assert.deepEqual(part.headerNames, ['Content-Type', 'Content-Transfer-Encoding'], 'the part headers, exactly');
    assert.equal(parts[0]!.headers['content-type'], 'application/pkcs8');
    assert.equal(parts[1]!.headers['content-type'], 'application/pkcs7-mime; smime-type=certs-only');
    issued.add(new X509Certificate(pkcs7Certificates(work, parts[1]!.body)[0]!).serialNumber.toLowerCase());

    // No credentials: the challenge libest looks for, by its exact name.
    const challenge = await raw('/simpleenroll', { method: 'POST', headers: pkcs10, body: csr.base64 });
    canonical('401 challenge', challenge, 401, ['Content-Type', 'WWW-Authenticate']);
    assert.match(challenge.headers['www-authenticate']!, /^Basic realm="workload-ca EST"/);

    const wrongType = await raw('/simpleenroll', { method: 'POST', headers: { ...basic, 'Content-Type': 'application/json' }, body: csr.base64 });
    canonical('415', wrongType, 415, ['Content-Type']);
    refusals.push(['est:request', 'bad-request']);
    const badBase64 = await raw('/simpleenroll', { method: 'POST', headers: { ...basic, ...pkcs10 }, body: '!!!!' });
    canonical('400', badBase64, 400, ['Content-Type']);
    refusals.push(['est:request', 'bad-csr']);
    const tooLarge = await raw('/simpleenroll', { method: 'POST', headers: { ...basic, ...pkcs10 }, body: 'QUFB\n'.repeat(8000) });
    canonical('413 (from the body parser)', tooLarge, 413, ['Content-Type']);
    refusals.push(['est:request', 'bad-request']);
    canonical('404 (no such operation)', await raw('/no-such-operation', { method: 'GET' }), 404, ['Content-Type']);
    canonical('404 (no such label)', await raw('/no-such-label/cacerts', { method: 'GET' }), 404, ['Content-Type']);
  });
});

describe('gateway (registration authority) mode', () => {
  const gatewayAuth = (): string[] => ['--cert', pki.gateway.cert, '--key', pki.gateway.key];

  test('a gateway enrolls a device under its own prefix; the ledger will name both', () => {
    const device = `spiffe://${TD}/gateway/gw-0042/device/thermostat-3`;
    const csr = opensslCsr(work, 'thermostat-3', { sans: [`URI:${device}`] });
    const cert = certificateOf(enroll('/gateways/simpleenroll', csr.base64, gatewayAuth()));
    assert.equal(sanOf(cert), `URI:${device}`);
    assert.equal(lifetimeHours(cert), 24);
    verifies(cert);
  });

  test('an identity outside its prefix, or none at all, is 403', () => {
    const other = opensslCsr(work, 'other-fleet', { sans: [`URI:spiffe://${TD}/gateway/gw-9999/device/x`] });
    refused(
      enroll('/gateways/simpleenroll', other.base64, gatewayAuth()),
      403,
      'est-gateway-fleet',
      'identity-not-allowed',
      /only IDs under spiffe:\/\/workload-ca\.test\/gateway\/gw-0042\/device\//,
    );
    const own = opensslCsr(work, 'gateway-itself', { sans: [`URI:spiffe://${TD}/gateway/gw-0042/device`] });
    refused(enroll('/gateways/simpleenroll', own.base64, gatewayAuth()), 403, 'est-gateway-fleet', 'identity-not-allowed', /only IDs under/);
    const none = opensslCsr(work, 'no-san');
    refused(enroll('/gateways/simpleenroll', none.base64, gatewayAuth()), 403, 'est-gateway-fleet', 'identity-not-allowed', /must name one/);
  });
});

describe('channel binding in challengePassword', () => {
  /** Opens a TLS connection, builds the CSR from its binding value, and enrolls over the same connection. */
  async function enrollBound(maxVersion: 'TLSv1.2' | 'TLSv1.3', binding: (s: TLSSocket) => string): Promise<{ status: number; body: string }> {
    const url = new URL(est);
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: server.rootPem, maxVersion, minVersion: maxVersion });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    assert.equal(socket.getProtocol(), maxVersion);
    const csr = opensslCsr(work, `bound-${maxVersion}-${Math.random().toString(36).slice(2, 8)}`, { challengePassword: binding(socket) });
    return new Promise((resolve, reject) => {
      const req = request(
        `${est}/simpleenroll`,
        {
          method: 'POST',
          createConnection: () => socket,
          headers: { 'content-type': 'application/pkcs10', authorization: `Basic ${Buffer.from(`sensor-1:${PASSWORD}`).toString('base64')}` },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            socket.destroy();
            resolve({ status: res.statusCode!, body });
          });
        },
      );
      req.on('error', reject);
      req.end(csr.base64);
    });
  }

  const tlsUnique = (s: TLSSocket): string => s.getFinished()!.toString('base64');
  const tlsExporter = (s: TLSSocket): string => s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('base64');

  test('tls-unique on TLS 1.2 and tls-exporter on TLS 1.3 are accepted', async () => {
    for (const [version, binding] of [
      ['TLSv1.2', tlsUnique],
      ['TLSv1.3', tlsExporter],
    ] as const) {
      const res = await enrollBound(version, binding);
      assert.equal(res.status, 200, `${version}: ${res.body}`);
      const cert = new X509Certificate(pkcs7Certificates(work, res.body)[0]!);
      issued.add(cert.serialNumber.toLowerCase());
    }
  });

  test('a binding from another connection, or any other challengePassword, is 401', async () => {
    let stale = '';
    const first = await enrollBound('TLSv1.3', (s) => (stale = tlsExporter(s)));
    assert.equal(first.status, 200);
    issued.add(new X509Certificate(pkcs7Certificates(work, first.body)[0]!).serialNumber.toLowerCase());
    const replayed = await enrollBound('TLSv1.3', () => stale);
    assert.equal(replayed.status, 401, replayed.body);
    assert.match(replayed.body, /tls-exporter channel binding/);
    refusals.push(['est:channel-binding', 'unauthenticated']);
    const wrong = await enrollBound('TLSv1.2', () => 'not-a-binding');
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /tls-unique channel binding/);
    refusals.push(['est:channel-binding', 'unauthenticated']);
  });
});

describe('registration authorities (RFC 7030 §3.7)', () => {
  /**
   * A device CSR bound, as libest's estproxy passes it on, to the device's own TLS connection to
   * the RA: its challengePassword is the tls-unique of a real connection that is not the one the
   * CSR arrives on.
   */
  async function downstreamBoundCsr(name: string, device: string): Promise<string> {
    return (await downstreamBound(name, device)).base64;
  }
  async function downstreamBound(name: string, device: string): Promise<{ base64: string; der: Buffer }> {
    const url = new URL(est);
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: server.rootPem, maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const downstream = socket.getFinished()!.toString('base64');
    socket.destroy();
    return opensslCsr(work, name, { challengePassword: downstream, sans: [`URI:${device}`] });
  }
  const ra = (): string[] => ['--cert', pki.registrationAuthority.cert, '--key', pki.registrationAuthority.key];
  const raDevice = `spiffe://${TD}/gateway/gw-ra-1/device/meter-9`;

  test('an RA certificate (id-kp-cmcRA) on a label that trusts RAs: the forwarded CSR skips channel binding', async () => {
    const cert = certificateOf(enroll('/gateways/simpleenroll', await downstreamBoundCsr('ra-meter-9', raDevice), ra()));
    assert.equal(sanOf(cert), `URI:${raDevice}`);
    verifies(cert);
  });

  test('the CSR signature is still verified for an RA', async () => {
    const csr = await downstreamBound('ra-forged', raDevice);
    const forged = Buffer.from(csr.der);
    forged[forged.length - 1]! ^= 0x01; // the last byte of the ECDSA signature's s
    refused(enroll('/gateways/simpleenroll', forged.toString('base64'), ra()), 400, 'csr-check', 'bad-csr', /bad-signature/);
  });

  test('a gateway without the EKU on that label, or the RA on a label that does not trust RAs: channel binding applies', async () => {
    const gateway = ['--cert', pki.gateway.cert, '--key', pki.gateway.key];
    const viaGateway = enroll(
      '/gateways/simpleenroll',
      await downstreamBoundCsr('gw-meter', `spiffe://${TD}/gateway/gw-0042/device/meter-1`),
      gateway,
    );
    refused(viaGateway, 401, 'est:channel-binding', 'unauthenticated', /tls-(unique|exporter) channel binding/);
    const elsewhere = enroll('/devices/simpleenroll', await downstreamBoundCsr('ra-elsewhere', raDevice), ra());
    refused(elsewhere, 401, 'est:channel-binding', 'unauthenticated', /tls-(unique|exporter) channel binding/);
  });
});

describe('refusals', () => {
  test("no credentials, a wrong password, or a stranger's certificate: 401 with a Basic challenge", () => {
    const csr = opensslCsr(work, 'anon');
    const none = enroll('/simpleenroll', csr.base64, []);
    // Challenged, not recorded: see the next test.
    assert.equal(none.status, 401);
    assert.match(none.text, /authentication required/);
    assert.match(none.headers['www-authenticate'] ?? '', /^Basic realm=/);
    refused(
      enroll('/simpleenroll', csr.base64, ['-u', 'sensor-1:wrong password!']),
      401,
      'est:authentication',
      'unauthenticated',
      /user name or password is wrong/,
    );
    refused(
      enroll('/simpleenroll', csr.base64, ['-u', `nobody:${PASSWORD}`]),
      401,
      'est:authentication',
      'unauthenticated',
      /user name or password is wrong/,
    );
    refused(
      enroll('/devices/simpleenroll', csr.base64, ['--cert', pki.stranger.cert, '--key', pki.stranger.key]),
      401,
      'est:authentication',
      'unauthenticated',
      /does not chain to a trust anchor/,
    );
    // A factory certificate counts only on the labels that trust its manufacturer.
    refused(
      enroll('/simpleenroll', csr.base64, ['--cert', pki.device.cert, '--key', pki.device.key]),
      401,
      'est:authentication',
      'unauthenticated',
      /trust anchor/,
    );
  });

  test("no credentials at all (libest's first attempt): the challenge and a metric, no denial; wrong or removed credentials stay denials", async () => {
    const estUser = (verb: string, name: string, input = ''): void => {
      const r = spawnSync(process.execPath, [...CLI, 'est', 'user', verb, name], {
        cwd: ROOT,
        env: server.env,
        input,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
    };
    /** workload_ca_auth_challenges_total for path est, per label ('' for the unlabeled path), summed over the cluster's workers. */
    const challenges = async (): Promise<Map<string, number>> => {
      const res = await https(server, 'GET', '/metrics');
      assert.equal(res.status, 200);
      const counts = new Map<string, number>();
      for (const m of res.body.matchAll(/^workload_ca_auth_challenges_total\{([^}]*)\} (\d+)$/gm)) {
        const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
        if (labels.path === 'est') counts.set(labels.label!, Number(m[2]));
      }
      return counts;
    };
    const before = await challenges();
    const csr = opensslCsr(work, 'challenge');
    for (const path of ['/simpleenroll', '/simplereenroll', '/devices/serverkeygen']) {
      const res = enroll(path, csr.base64, []);
      assert.equal(res.status, 401, `${path}: ${res.text}`);
      assert.match(res.headers['www-authenticate'] ?? '', /^Basic realm=/);
    }
    const after = await challenges();
    assert.equal((after.get('') ?? 0) - (before.get('') ?? 0), 2, 'two challenges on the unlabeled path');
    assert.equal((after.get('devices') ?? 0) - (before.get('devices') ?? 0), 1, 'one on the devices label');

    // A credential that once worked and was removed is refused and recorded like a wrong one.
    estUser('add', 'removed-1', `${PASSWORD}\n`);
    certificateOf(enroll('/simpleenroll', csr.base64, ['-u', `removed-1:${PASSWORD}`]));
    estUser('remove', 'removed-1');
    refused(
      enroll('/simpleenroll', csr.base64, ['-u', `removed-1:${PASSWORD}`]),
      401,
      'est:authentication',
      'unauthenticated',
      /user name or password is wrong/,
    );
    refused(
      enroll('/simpleenroll', csr.base64, ['-u', 'sensor-1:not the password']),
      401,
      'est:authentication',
      'unauthenticated',
      /user name or password is wrong/,
    );

    // The ledger test at the end reads them back: the two refusals are there, the challenges are not.
  });

  test('wrong Content-Type: 415; broken base64: 400; a CSR with a bad signature: 400', () => {
    const basic = ['-u', `sensor-1:${PASSWORD}`];
    const csr = opensslCsr(work, 'bad-inputs');
    refused(
      estCurl('/simpleenroll', [...basic, '-H', 'Content-Type: application/json', '--data-binary', '@-'], csr.base64),
      415,
      'est:request',
      'bad-request',
      /application\/pkcs10/,
    );
    refused(enroll('/simpleenroll', `${csr.base64.slice(0, 40)}!!${csr.base64.slice(42)}`, basic), 400, 'est:request', 'bad-csr', /not valid base64/);
    refused(enroll('/simpleenroll', csr.base64.replace(/=*\n?$/, '').slice(0, -1), basic), 400, 'est:request', 'bad-csr', /base64/);
    refused(
      enroll('/simpleenroll', csr.base64, basic, ['-H', 'Content-Transfer-Encoding: binary']),
      400,
      'est:request',
      'bad-request',
      /Content-Transfer-Encoding/,
    );
    const forged = buildCsr({ badSignature: true }).der.toString('base64');
    refused(enroll('/simpleenroll', forged, basic), 400, 'csr-check', 'bad-csr', /bad CSR \(bad-signature\)/);
    refused(enroll('/simpleenroll', Buffer.from('not a CSR at all').toString('base64'), basic), 400, 'csr-check', 'bad-csr', /bad CSR \(malformed\)/);
    refused(enroll('/nowhere/simpleenroll', csr.base64, basic), 404, 'est:request', 'bad-request', /no EST label "nowhere"/);
    refused(enroll('/simpleenroll', 'QUFB\n'.repeat(8000), basic), 413, 'est:request', 'bad-request', /larger than 32768 bytes/);
  });

  test('simplereenroll: a changed SAN or subject is 403; an expired, foreign or Basic credential is 401', () => {
    const csr = opensslCsr(work, 'reenroll-refusals');
    const current = certificateOf(enroll('/simpleenroll', csr.base64, ['-u', `sensor-1:${PASSWORD}`]));
    const mtls = ['--cert', file('reenroll-current.pem', current.toString()), '--key', csr.key];
    const changedSan = opensslCsr(work, 'reenroll-san', { key: csr.key, sans: [`URI:spiffe://${TD}/device/sensor-2`] });
    refused(enroll('/simplereenroll', changedSan.base64, mtls), 403, 'est:reenroll', 'identity-not-allowed', /subjectAltName/);
    const addedDns = opensslCsr(work, 'reenroll-dns', { key: csr.key, sans: [`URI:spiffe://${TD}/device/sensor-1`, 'DNS:sensor-1.local'] });
    refused(enroll('/simplereenroll', addedDns.base64, mtls), 403, 'est:reenroll', 'identity-not-allowed', /subjectAltName/);
    const changedSubject = opensslCsr(work, 'reenroll-subject', {
      key: csr.key,
      subject: '/CN=sensor-1',
      sans: [`URI:spiffe://${TD}/device/sensor-1`],
    });
    refused(enroll('/simplereenroll', changedSubject.base64, mtls), 403, 'est:reenroll', 'identity-not-allowed', /subject/);

    const same = opensslCsr(work, 'reenroll-same', { subject: '/', sans: [`URI:spiffe://${TD}/device/sensor-1`] });
    const expired = expiredSvid(server.dataDir, `spiffe://${TD}/device/sensor-1`, work);
    refused(
      enroll('/simplereenroll', same.base64, ['--cert', expired.cert, '--key', expired.key]),
      401,
      'est:authentication',
      'unauthenticated',
      /not currently valid/,
    );
    refused(
      enroll('/simplereenroll', same.base64, ['--cert', pki.stranger.cert, '--key', pki.stranger.key]),
      401,
      'est:authentication',
      'unauthenticated',
      /not issued by this CA/,
    );
    refused(
      enroll('/devices/simplereenroll', same.base64, ['--cert', pki.device.cert, '--key', pki.device.key]),
      401,
      'est:authentication',
      'unauthenticated',
      /current, unexpired certificate from this CA/,
    );
    refused(
      enroll('/simplereenroll', same.base64, ['-u', `sensor-1:${PASSWORD}`]),
      401,
      'est:authentication',
      'unauthenticated',
      /current, unexpired certificate from this CA/,
    );
  });

  test('TLS 1.1 is refused in the handshake; TLS 1.2 is served', () => {
    const old = estCurl('/cacerts', ['--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT:@SECLEVEL=0']);
    assert.equal(old.status, 0);
    assert.equal(old.exitCode, 35, old.stderr);
    assert.match(old.stderr, /protocol version|unsupported protocol/i);
    const s = spawnSync('openssl', ['s_client', '-connect', new URL(est).host, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'], {
      input: '',
      encoding: 'utf8',
    });
    assert.notEqual(s.status, 0);
    assert.match(s.stdout + s.stderr, /alert protocol version/);
    const ok = estCurl('/cacerts', ['--tlsv1.2', '--tls-max', '1.2']);
    assert.equal(ok.status, 200);
  });
});

describe('operators revoke everything one gateway enrolled', () => {
  test("by requester (the CLI, after a dry run): the gateway's certificates are revoked as one event; the RA's stay live", async () => {
    const headers = {
      authorization: `Bearer ${readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim()}`,
      'content-type': 'application/json',
    };
    const get = async (path: string) => {
      const r = await https(server, 'GET', path, { headers });
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      return r.json();
    };
    const serials = async (requesterId: string, status: string): Promise<string[]> =>
      (await get(`/v1/admin/certificates?requester_kind=est-client&requester_id=${encodeURIComponent(requesterId)}&status=${status}`)).items
        .map((i: { serial: string }) => i.serial)
        .sort();
    // The ledger is written behind the reply; the selector reads it.
    let enrolled: string[] = [];
    await eventually("the gateway's device in the ledger", async () => (enrolled = await serials('gw-0042@gateways', 'live')).length >= 1, 10_000);
    const forwarded = await serials('gw-ra-1@gateways', 'live');
    assert.ok(forwarded.length >= 1, 'the RA forwarded a device CSR');

    const selector = { requester: { kind: 'est-client', id: 'gw-0042@gateways' } };
    const eventsBefore = (await get('/v1/admin/revocations')).items;
    const dry = await https(server, 'POST', '/v1/admin/revocations', { headers, body: JSON.stringify({ ...selector, dryRun: true }) });
    assert.equal(dry.status, 200, dry.body);
    assert.deepEqual(dry.json().serials.sort(), enrolled);
    assert.deepEqual((await get('/v1/admin/revocations')).items, eventsBefore, 'a dry run records no event');

    const r = await server.cli(['revoke', '--requester', 'est-client:gw-0042@gateways', '--reason', '1', '--requested-by', 'gateway gw-0042 stolen']);
    assert.equal(r.code, 0, r.stderr);
    const eventId = /revocation event ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
    assert.ok(eventId, r.stdout);
    const event = await get(`/v1/admin/revocations/${eventId}`);
    assert.deepEqual(event.selector, selector);
    assert.deepEqual([event.reason, event.revoked_by.kind, event.revoked_by.requestedBy], [1, 'operator', 'gateway gw-0042 stolen']);
    assert.deepEqual(event.certificates.map((c: { serial: string }) => c.serial).sort(), enrolled);
    assert.ok(event.certificates.every((c: { spiffe_id: string }) => c.spiffe_id.startsWith(`spiffe://${TD}/gateway/gw-0042/device/`)));

    assert.deepEqual(await serials('gw-0042@gateways', 'live'), []);
    assert.deepEqual(await serials('gw-0042@gateways', 'revoked'), enrolled);
    assert.deepEqual(await serials('gw-ra-1@gateways', 'live'), forwarded, "another gateway's devices stay live");
  });
});

describe('the ledger', () => {
  test('holds exactly the certificates clients received, gateway and device both named, and every refusal', async () => {
    await server.stop();
    const db = await openEmbeddedLedger(join(server.dataDir, 'ledger'));
    try {
      const rows = await db.query<{
        serial: string;
        path: string;
        rule: string;
        spiffe_id: string;
        requester_id: string;
        requester: Record<string, unknown>;
      }>('SELECT serial, path, rule, spiffe_id, requester_id, requester FROM certificates');
      assert.deepEqual(new Set(rows.rows.map((r) => r.serial)), issued, 'no refusal left a certificate row, and no issuance is missing');
      assert.ok(rows.rows.every((r) => r.path === 'est'));
      const fleet = rows.rows.find((r) => r.rule === 'est-gateway-fleet')!;
      assert.equal(fleet.spiffe_id, `spiffe://${TD}/gateway/gw-0042/device/thermostat-3`);
      assert.equal(fleet.requester_id, 'gw-0042@gateways');
      assert.equal(fleet.requester.auth, 'trust-anchor');
      assert.deepEqual((fleet.requester.certificate as { subject: string }).subject, 'O=Acme Devices, CN=gw-0042');
      const keygen = rows.rows.filter((r) => r.requester.operation === 'serverkeygen');
      assert.equal(keygen.length, 2);
      // The RA's issuance says who vouched for the proof of possession; no other row does.
      const vouched = rows.rows.filter((r) => r.requester.popVouchedBy !== undefined);
      assert.deepEqual(
        vouched.map((r) => [r.spiffe_id, r.requester_id]),
        [[`spiffe://${TD}/gateway/gw-ra-1/device/meter-9`, 'gw-ra-1@gateways']],
      );
      assert.deepEqual(vouched[0]!.requester.popVouchedBy, {
        subject: 'O=Acme Devices, CN=gw-ra-1',
        serial: Buffer.from('gw-ra-1').toString('hex'),
        spiffeId: null,
      });

      const denials = await db.query<{
        rule: string;
        code: string;
        requester_id: string;
        requested_spiffe_id: string | null;
        reason: string;
        requester: Record<string, unknown>;
        repeat_count: number;
        client_address: string | null;
      }>('SELECT rule, code, requester_id, requested_spiffe_id, reason, requester, repeat_count, client_address FROM denials');
      assert.ok(!denials.rows.some((d) => /^authentication required/.test(d.reason)), 'a request without credentials is challenged, not denied');
      // Failed authentication is recorded against what the credential claimed, marked unverified.
      assert.ok(
        denials.rows.some((d) => d.requester_id === 'unverified basic: removed-1' && d.rule === 'est:authentication'),
        'a removed credential is denied',
      );
      assert.ok(
        denials.rows.every((d) => d.client_address === '127.0.0.1'),
        'every denial names the client address',
      );
      const bindingRefused = denials.rows
        .filter((d) => d.rule === 'est:channel-binding')
        .map((d) => d.requester_id)
        .sort();
      assert.deepEqual(
        bindingRefused.filter((id) => id.startsWith('gw-')),
        ['gw-0042@gateways', 'gw-ra-1@devices'],
      );
      assert.ok(denials.rows.every((d) => d.requester.popVouchedBy === undefined || d.requester_id === 'gw-ra-1@gateways'));
      const count = (list: readonly (readonly [string, string, number?])[]) => {
        const m = new Map<string, number>();
        for (const [rule, code, n] of list) m.set(`${rule} ${code}`, (m.get(`${rule} ${code}`) ?? 0) + (n ?? 1));
        return m;
      };
      // Repeated failed authentications from one address are folded into a row with a count.
      assert.deepEqual(
        count(denials.rows.map((d) => [d.rule, d.code, d.repeat_count] as const)),
        count(refusals),
        'every refusal counted once, with its rule and code',
      );
      const outside = denials.rows.find((d) => d.requested_spiffe_id === `spiffe://${TD}/gateway/gw-9999/device/x`);
      assert.equal(outside?.requester_id, 'gw-0042@gateways');
    } finally {
      await db.close();
    }
  });
});
