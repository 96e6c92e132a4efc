// The key ceremony: creating the root and issuing CA, and the CA's own TLS certificate.
//
// This runs before anything serves (from `init` or the embedded first start). The root key is made
// here, signs the issuing CA, and is written apart (`root/`) to be taken offline; nothing that
// serves ever reads it. At run time only a Signer (file-signer.ts, pkcs11-signer.ts) holds the
// issuing key.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { writeSecretFile } from '../files/secret-file.js';
import {
  assembleCertificate,
  caTbs,
  distinguishedName,
  keyIdentifier,
  newSerial,
  serverTbs,
  subjectOfCertificate,
  toPem,
} from '../pki/certificate.js';
import { exportPrivateKey, generateP256, publicKeyBits, signEcdsaSha256, spkiDer } from '../pki/keys.js';
import type { Signer } from '../pki/signer.js';
import type { Pkcs11Config } from '../config/types.js';
import { generatePkcs11Key } from './pkcs11-signer.js';
import { trustDomainId } from '../pki/spiffe.js';

const DAY = 86_400_000;

/**
 * The files of a CA directory. Private keys are PKCS#8 PEM, mode 0600. The root key sits in its
 * own directory so that it can be moved offline whole; the serving CA needs only the rest.
 */
export function caPaths(dir: string) {
  return {
    dir,
    rootCert: join(dir, 'root-ca.pem'),
    rootKey: join(dir, 'root', 'root-ca.key'),
    issuingCert: join(dir, 'issuing-ca.pem'),
    issuingKey: join(dir, 'issuing-ca.key'),
    nonceKey: join(dir, 'acme-nonce.key'),
  };
}
export type CaPaths = ReturnType<typeof caPaths>;

export interface InitOptions {
  readonly trustDomain: string;
  readonly organization?: string;
  readonly passphrase?: string;
  readonly rootDays?: number;
  readonly issuingDays?: number;
  /** Make the issuing key inside this HSM token instead of a file; only its certificate is written. */
  readonly pkcs11?: Pkcs11Config;
}

export type InitResult = { ok: true; paths: CaPaths } | { ok: false; reason: string };

/** Creates a root CA and an issuing CA (both ECDSA P-256) in `dir`. Refuses to overwrite. */
export async function initCa(dir: string, opts: InitOptions): Promise<InitResult> {
  const paths = caPaths(dir);
  const existing = [paths.rootCert, paths.rootKey, paths.issuingCert, paths.issuingKey, paths.nonceKey].filter((p) => existsSync(p));
  if (existing.length > 0) return { ok: false, reason: `refusing to overwrite ${existing.join(', ')}` };
  mkdirSync(join(paths.rootKey, '..'), { recursive: true, mode: 0o700 });

  const organization = opts.organization ?? 'workload-ca';
  const now = Date.now();
  const spiffeId = trustDomainId(opts.trustDomain);

  const root = generateP256();
  const rootSpki = spkiDer(root.publicKey);
  const rootSubject = distinguishedName({ organization, commonName: `${organization} root CA (${opts.trustDomain})` });
  const rootTbs = caTbs({
    serial: newSerial(),
    subject: rootSubject,
    issuer: 'self',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.rootDays ?? 3650) * DAY),
    spki: rootSpki,
    publicKeyBits: publicKeyBits(rootSpki),
    spiffeId,
  });
  const rootDer = assembleCertificate(rootTbs, signEcdsaSha256(root.privateKey, rootTbs));

  // In an HSM the key is made inside the token and only its public half comes out.
  const issuing = opts.pkcs11 ? null : generateP256();
  let issuingSpki: Buffer;
  try {
    issuingSpki = issuing ? spkiDer(issuing.publicKey) : await generatePkcs11Key(opts.pkcs11!);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const issuingTbs = caTbs({
    serial: newSerial(),
    subject: distinguishedName({ organization, commonName: `${organization} issuing CA (${opts.trustDomain})` }),
    issuer: { subject: rootSubject, keyId: keyIdentifier(publicKeyBits(rootSpki)) },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.issuingDays ?? 730) * DAY),
    spki: issuingSpki,
    publicKeyBits: publicKeyBits(issuingSpki),
    pathLength: 0,
    spiffeId,
  });
  const issuingDer = assembleCertificate(issuingTbs, signEcdsaSha256(root.privateKey, issuingTbs));

  writePrivate(paths.rootKey, exportPrivateKey(root.privateKey, opts.passphrase));
  writePrivate(paths.rootCert, toPem(rootDer));
  if (issuing) writePrivate(paths.issuingKey, exportPrivateKey(issuing.privateKey, opts.passphrase));
  writePrivate(paths.issuingCert, toPem(issuingDer));
  writeSecretFile(paths.nonceKey);
  return { ok: true, paths };
}

/**
 * Writes a file only its owner may read. Certificates too: they are public, but they live beside
 * the keys in a directory no one else may read, and one mode for everything leaves nothing to
 * decide per file.
 */
export function writePrivate(path: string, contents: string): void {
  writeFileSync(path, contents, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its old mode through writeFileSync
}

/** The CA's certificates: what replicas publish and chain to. No key is read here. */
export interface CaCertificates {
  readonly root: X509Certificate;
  readonly issuing: X509Certificate;
}

export function loadCaCertificates(paths: Pick<CaPaths, 'rootCert' | 'issuingCert'>): CaCertificates {
  const root = new X509Certificate(readFileSync(paths.rootCert));
  const issuing = new X509Certificate(readFileSync(paths.issuingCert));
  if (!issuing.verify(root.publicKey)) throw new Error(`${paths.issuingCert} is not signed by ${paths.rootCert}`);
  return { root, issuing };
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/**
 * The CA's own HTTPS certificate (serverAuth only, not an SVID) for the listen hosts. Made when missing; re-made within 30 days of expiry if this CA issued it.
 */
export async function ensureServerCertificate(
  signer: Signer,
  files: TlsFiles,
  opts: { dnsNames: readonly string[]; ipAddresses: readonly string[]; days?: number },
): Promise<void> {
  if (existsSync(files.cert) && existsSync(files.key)) {
    const current = new X509Certificate(readFileSync(files.cert));
    // A certificate from another CA is the operator's to rotate; leave it alone.
    if (!current.checkIssued(new X509Certificate(signer.certificateDer))) return;
    if (Date.parse(current.validTo) - Date.now() > 30 * DAY) return;
  }
  const key = generateP256();
  const spki = spkiDer(key.publicKey);
  const now = Date.now();
  const tbs = serverTbs({
    issuer: { subject: subjectOfCertificate(signer.certificateDer), keyId: signer.keyId },
    commonName: opts.dnsNames[0] ?? opts.ipAddresses[0] ?? 'workload-ca',
    serial: newSerial(),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 90) * DAY),
    spki,
    publicKeyBits: publicKeyBits(spki),
    dnsNames: opts.dnsNames,
    ipAddresses: opts.ipAddresses,
  });
  const der = assembleCertificate(tbs, await signer.sign(tbs));
  mkdirSync(join(files.cert, '..'), { recursive: true, mode: 0o700 });
  writePrivate(files.key, exportPrivateKey(key.privateKey));
  writePrivate(files.cert, toPem(der) + toPem(signer.certificateDer));
}
