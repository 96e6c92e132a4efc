// The EST world of the benches and the cluster test: a manufacturer root and a few gateways'
// factory certificates (made with openssl, as a manufacturer would), the CA's configuration and
// policy for gateway enrollment (alone, or after the default rules as the suite runs it), device
// CSRs prepared before any clock starts, and the check of what came back.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCsr } from '../../src/pki/csr-encode.js';
import { fromPem } from '../../src/pki/certificate.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.js';
import { defaultPolicyYaml } from '../../src/policy/index.js';
import { opensslLeaf, opensslRoot } from './openssl-pki.js';

export interface Gateway {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface EstRequest {
  readonly gateway: number;
  readonly deviceId: string;
  /** The device key's SPKI (DER), to check the certificate is for it. */
  readonly spki: Buffer;
  readonly body: string;
}

export const TRUST_DOMAIN = 'bench.workload-ca.test';
export const LABEL = 'gateways';

/** The policy rule of the EST walk-through: each gateway enrolls the devices under its own name. */
const GATEWAY_RULE = `  - name: gateway-fleet
    match: { paths: [est], est: { label: ${LABEL}, auth: [trust-anchor], name: "gw-*" } }
    grant: { spiffeId: 'spiffe://{trustDomain}/gateway/{requester.name}/device/*', defaultLifetime: 1h }
`;

/** Writes the manufacturer PKI, the CA configuration and the policy into `dir`; returns the gateways. */
export function prepareWorld(dir: string, gateways: number): { configFile: string; gateways: Gateway[] } {
  const root = opensslRoot(join(dir, 'manufacturer-root'), '/O=Bench Devices/CN=Bench Manufacturing Root', { days: 2 });
  const extensions = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  const list: Gateway[] = [];
  for (let i = 0; i < gateways; i++) {
    const name = `gw-${String(i).padStart(3, '0')}`;
    const gw = opensslLeaf(join(dir, name), `/O=Bench Devices/CN=${name}`, root, { serial: String(1000 + i), days: 2, extensions });
    list.push({ name, certPem: readFileSync(gw.cert, 'utf8'), keyPem: readFileSync(gw.key, 'utf8') });
  }
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    `version: 1
guardrails: { trustDomain: ${TRUST_DOMAIN}, keyAlgorithms: [ecdsa-p256], maxLifetime: 24h }
rules:
${GATEWAY_RULE}`,
  );
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `policyFile: ${policyFile}\nest:\n  labels:\n    ${LABEL}: { trustAnchors: [${root.cert}] }\n`);
  return { configFile, gateways: list };
}

/** The default policy (what an operator starts from) and the gateway rule of the EST walk-through. */
export function suitePolicy(): string {
  return `${defaultPolicyYaml({ trustDomain: TRUST_DOMAIN, tokenIssuer: DEV_TOKEN_ISSUER, audience: DEV_TOKEN_AUDIENCE })}
${GATEWAY_RULE}`;
}

/** `count` device CSRs, spread over the gateways, each naming a device under its gateway. */
export function prepareRequests(count: number, gateways: readonly Gateway[]): EstRequest[] {
  const out: EstRequest[] = [];
  for (let i = 0; i < count; i++) {
    const gateway = i % gateways.length;
    const deviceId = `spiffe://${TRUST_DOMAIN}/gateway/${gateways[gateway]!.name}/device/d-${i}`;
    const key: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const csr = encodeCsr(key.privateKey, Buffer.from([0x30, 0x00]), { uris: [deviceId], dnsNames: [], ipAddresses: [] });
    out.push({ gateway, deviceId, spki: key.publicKey.export({ format: 'der', type: 'spki' }), body: csr.toString('base64') });
  }
  return out;
}

export interface Verification {
  readonly checked: number;
  readonly failed: number;
  readonly failures: readonly string[];
}

/**
 * Each sampled reply must be a certs-only PKCS#7 (read back with `openssl pkcs7`) holding one
 * certificate that chains to the root through the issuing CA, names the device asked for, and is
 * for the device's key.
 */
export function verifySamples(
  samples: readonly { request: EstRequest; body: string }[],
  rootPem: string,
  issuingPem: string,
  dir: string,
): Verification {
  const root = new X509Certificate(rootPem);
  const issuing = new X509Certificate(issuingPem);
  const failures: string[] = [];
  samples.forEach((s, i) => {
    const problem = check(s, root, issuing, join(dir, `sample-${i}.p7`));
    if (problem) failures.push(`${s.request.deviceId}: ${problem}`);
  });
  return { checked: samples.length, failed: failures.length, failures };
}

function check(s: { request: EstRequest; body: string }, root: X509Certificate, issuing: X509Certificate, file: string): string | null {
  writeFileSync(file, Buffer.from(s.body.replace(/\s+/g, ''), 'base64'));
  let pem: string;
  try {
    pem = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-in', file, '-print_certs'], { encoding: 'utf8' });
  } catch {
    return 'not a PKCS#7 that openssl reads';
  }
  const ders = fromPem(pem);
  if (ders.length !== 1) return `${ders.length} certificates in the reply`;
  const leaf = new X509Certificate(ders[0]!);
  if (!leaf.checkIssued(issuing) || !leaf.verify(issuing.publicKey)) return 'not signed by the issuing CA';
  if (!issuing.checkIssued(root) || !issuing.verify(root.publicKey)) return 'issuing CA not signed by the root';
  if (leaf.subjectAltName !== `URI:${s.request.deviceId}`) return `SAN is ${leaf.subjectAltName}`;
  if (!leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(s.request.spki)) return 'not for the device key';
  return null;
}
