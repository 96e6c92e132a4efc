// EST test clients: curl and openssl as a device or gateway would run them, a small
// "manufacturer" PKI made with openssl, and certificates from the CA's own key that no API would
// hand out (already expired) for the refusal cases.

import { execFileSync, spawnSync } from 'node:child_process';
import { connect } from 'node:tls';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeafProfile, assembleCertificate, keyIdentifier, newSerial, subjectOfCertificate, toPem } from '../../src/pki/certificate.js';
import { publicKeyBits, signEcdsaSha256, spkiDer } from '../../src/pki/keys.js';
import { opensslLeaf, opensslRoot, type PemFiles } from './openssl-pki.js';
import { scratchDir } from './scratch.js';

export function openssl(args: string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface CurlResult {
  readonly status: number;
  /** Lower-case header names; the last response's headers. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly text: string;
  /** curl's own exit code (35: TLS handshake failed). */
  readonly exitCode: number;
  readonly stderr: string;
}

/** One curl invocation; `args` are curl's own options, the URL last. */
export function curl(args: string[], input?: string | Buffer): CurlResult {
  // Headers to a file of their own: curl 7.88 crashes when -D and its error output share stderr.
  const dir = scratchDir('curl-');
  const headerFile = join(dir, 'headers');
  const r = spawnSync('curl', ['-sS', '-D', headerFile, '-o', '-', ...args], { input, maxBuffer: 16 << 20 });
  const stderr = r.stderr.toString('utf8');
  const dumped = existsSync(headerFile) ? readFileSync(headerFile, 'latin1') : '';
  rmSync(dir, { recursive: true, force: true });
  const headerBlocks = dumped.split(/\r?\n\r?\n/).filter((b) => /^HTTP\/[\d.]+ \d+/.test(b));
  const last = headerBlocks.at(-1) ?? '';
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(last)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of last.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: r.stdout, text: r.stdout.toString('utf8'), exitCode: r.status ?? -1, stderr };
}

/** A CSR made by `openssl req`, base64 as `openssl base64` writes it (64-column lines). */
export function opensslCsr(
  dir: string,
  name: string,
  opts: { key?: string; subject?: string; sans?: string[]; challengePassword?: string } = {},
): { key: string; base64: string; der: Buffer } {
  const key = opts.key ?? join(dir, `${name}.key`);
  if (opts.key === undefined) openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  const der = join(dir, `${name}.csr.der`);
  const args = ['req', '-new', '-key', key, '-outform', 'DER', '-out', der];
  if (opts.challengePassword !== undefined) {
    // openssl reads request attributes only from a config file, and only with a non-empty subject there.
    const cnf = join(dir, `${name}.cnf`);
    const sanLine = opts.sans?.length ? `req_extensions = ext\n[ext]\nsubjectAltName = ${opts.sans.join(',')}\n` : '';
    writeFileSync(
      cnf,
      `[req]\ndistinguished_name = dn\nattributes = attrs\nprompt = no\n${sanLine}[dn]\nCN = ${name}\n[attrs]\nchallengePassword = ${opts.challengePassword}\n`,
    );
    args.push('-config', cnf);
  } else {
    args.push('-subj', opts.subject ?? '/');
    if (opts.sans?.length) args.push('-addext', `subjectAltName=${opts.sans.join(',')}`);
  }
  openssl(args);
  const base64 = openssl(['base64', '-in', der]);
  return { key, base64, der: readFileSync(der) };
}

/** The certificates of a base64 certs-only PKCS#7, as PEM, via `openssl pkcs7 -print_certs`. */
export function pkcs7Certificates(dir: string, base64Body: string | Buffer): string[] {
  const stem = join(dir, `p7-${process.hrtime.bigint()}`);
  writeFileSync(`${stem}.b64`, base64Body);
  openssl(['base64', '-d', '-in', `${stem}.b64`, '-out', `${stem}.der`]);
  const pem = openssl(['pkcs7', '-inform', 'DER', '-in', `${stem}.der`, '-print_certs']);
  return pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
}

export interface ManufacturerPki {
  readonly rootPem: string;
  readonly rootFile: string;
  /** A gateway's factory certificate (CN=gw-0042) and a device's (CN=dev-7), both clientAuth. */
  readonly gateway: { readonly cert: string; readonly key: string };
  readonly device: { readonly cert: string; readonly key: string };
  /** Issued by a CA nobody configured. */
  readonly stranger: { readonly cert: string; readonly key: string };
  /** A gateway (CN=gw-ra-1) whose factory certificate also carries id-kp-cmcRA: a registration authority. */
  readonly registrationAuthority: { readonly cert: string; readonly key: string };
}

/** A manufacturer's root and two factory certificates, and a stranger's, all made by openssl. */
export function manufacturerPki(dir: string): ManufacturerPki {
  mkdirSync(dir, { recursive: true });
  const leafExt = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  // clientAuth to authenticate over TLS, id-kp-cmcRA (1.3.6.1.5.5.7.3.28) to be an RA.
  const raExt = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth,1.3.6.1.5.5.7.3.28\n';
  const manufacturer = opensslRoot(join(dir, 'manufacturer-root'), '/O=Acme Devices/CN=Acme Manufacturing Root', { days: 30 });
  const stranger = opensslRoot(join(dir, 'stranger-root'), '/O=Nobody/CN=Unconfigured Root', { days: 30 });
  const leaf = (name: string, subject: string, issuer: PemFiles, extensions = leafExt): PemFiles =>
    opensslLeaf(join(dir, name), subject, issuer, { serial: `0x${Buffer.from(name).toString('hex')}`, days: 30, extensions });
  return {
    rootFile: manufacturer.cert,
    rootPem: readFileSync(manufacturer.cert, 'utf8'),
    gateway: leaf('gw-0042', '/O=Acme Devices/CN=gw-0042', manufacturer),
    device: leaf('dev-7', '/O=Acme Devices/CN=dev-7', manufacturer),
    stranger: leaf('stranger', '/O=Nobody/CN=dev-7', stranger),
    registrationAuthority: leaf('gw-ra-1', '/O=Acme Devices/CN=gw-ra-1', manufacturer, raExt),
  };
}

/**
 * An X509-SVID signed with this CA's issuing key whose validity ended an hour ago: what a device
 * that slept too long presents. Built with the CA's own leaf profile, so only the dates differ.
 */
export function expiredSvid(dataDir: string, spiffeId: string, outDir: string): { cert: string; key: string } {
  const issuingPem = readFileSync(join(dataDir, 'ca/issuing-ca.pem'), 'utf8');
  const issuingKey = createPrivateKey(readFileSync(join(dataDir, 'ca/issuing-ca.key'), 'utf8'));
  const issuing = new X509Certificate(issuingPem);
  const profile = new LeafProfile({ subject: subjectOfCertificate(issuing.raw), keyId: keyIdentifier(publicKeyBits(spkiDer(issuingKey))) });
  const subjectKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = spkiDer(subjectKey.publicKey);
  const now = Date.now();
  const tbs = profile.tbs({
    serial: newSerial(),
    notBefore: new Date(now - 2 * 3600_000),
    notAfter: new Date(now - 3600_000),
    spki,
    publicKeyBits: publicKeyBits(spki),
    names: { uris: [spiffeId], dnsNames: [], ipAddresses: [] },
  });
  const cert = join(outDir, 'expired.pem');
  const key = join(outDir, 'expired.key');
  writeFileSync(cert, toPem(assembleCertificate(tbs, signEcdsaSha256(issuingKey, tbs))));
  writeFileSync(key, subjectKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  return { cert, key };
}

export interface RawResponse {
  readonly status: number;
  /** The header names exactly as they were on the wire, in order. */
  readonly headerNames: readonly string[];
  /** Lower-case names to values, for reading. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * One HTTP/1.1 request written by hand on a TLS socket, and the response's bytes read back as
 * they came: what a client that matches header names case-sensitively (libest) gets to see.
 */
export function rawHttps(
  url: string,
  ca: string,
  opts: { method: string; headers?: Record<string, string>; body?: string | Buffer; cert?: string; key?: string },
): Promise<RawResponse> {
  const u = new URL(url);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  const lines = [
    `${opts.method} ${u.pathname} HTTP/1.1`,
    `Host: ${u.host}`,
    'Connection: close',
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  if (opts.method !== 'GET') lines.push(`Content-Length: ${body.length}`);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port), ca, cert: opts.cert, key: opts.key });
    const chunks: Buffer[] = [];
    socket.on('secureConnect', () => socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body])));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no complete response head: ${JSON.stringify(raw.toString('latin1'))}`));
      const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
      const headerNames: string[] = [];
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const i = line.indexOf(':');
        headerNames.push(line.slice(0, i));
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1] ?? 0), headerNames, headers, body: raw.subarray(end + 4) });
    });
  });
}

/** The parts of a multipart/mixed body: each part's header names as written, its headers and its body. */
export function multipartParts(contentType: string, body: Buffer): { headerNames: string[]; headers: Record<string, string>; body: string }[] {
  const boundary = /;\s*boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`);
  return body
    .toString('latin1')
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [head, content] = part.replace(/^\r\n/, '').split('\r\n\r\n') as [string, string];
      const lines = head.split('\r\n');
      return {
        headerNames: lines.map((l) => l.slice(0, l.indexOf(':'))),
        headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])),
        body: content,
      };
    });
}
