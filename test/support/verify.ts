// After each level, a random sample of what was issued is checked the way a relying party would:
// a fast answer that is not a correct certificate must not count as throughput.

import { X509Certificate } from 'node:crypto';
import type { PreparedRequest } from './workload.js';

/** A successful answer kept for verification, with the request that produced it. */
export interface IssuedSample {
  readonly request: PreparedRequest;
  readonly body: string;
}

export interface SampleCheck {
  readonly serial: string | null;
  readonly problems: readonly string[];
}

export interface VerificationResult {
  readonly checked: number;
  readonly failed: number;
  /** Only failing samples, to keep the report short. */
  readonly failures: readonly SampleCheck[];
}

interface SvidResponse {
  spiffe_id?: unknown;
  certificate?: unknown;
  chain?: unknown;
  serial?: unknown;
  expires_at?: unknown;
}

export function verifySamples(samples: readonly IssuedSample[], rootPem: string, issued: number): VerificationResult {
  const root = new X509Certificate(rootPem);
  const checks = samples.map((s) => checkSample(s, root));
  const failures = checks.filter((c) => c.problems.length > 0);
  // A level that issued nothing has nothing to verify; that is a failed run, not a pass.
  if (issued === 0) failures.push({ serial: null, problems: ['no certificate was issued in the measured window'] });
  return { checked: samples.length, failed: failures.length, failures };
}

function checkSample(sample: IssuedSample, root: X509Certificate): SampleCheck {
  let body: SvidResponse;
  try {
    body = JSON.parse(sample.body) as SvidResponse;
  } catch {
    return { serial: null, problems: ['response body is not JSON'] };
  }
  const serial = typeof body.serial === 'string' ? body.serial : null;
  if (typeof body.certificate !== 'string' || typeof body.chain !== 'string') {
    return { serial, problems: ['response lacks certificate or chain'] };
  }
  let leaf: X509Certificate;
  let chain: X509Certificate[];
  try {
    leaf = new X509Certificate(body.certificate);
    chain = pemBlocks(body.chain).map((pem) => new X509Certificate(pem));
  } catch (err) {
    return { serial, problems: [`certificate does not parse: ${(err as Error).message}`] };
  }
  const problems = [
    ...chainProblems(leaf, chain, root),
    ...identityProblems(leaf, body, sample.request.credential.expectedSpiffeId),
    ...keyProblems(leaf, sample),
    ...serialProblems(leaf, serial),
  ];
  return { serial, problems };
}

/** leaf ← issuing CA (from `chain`) ← root (our only anchor), each signature and name link checked. */
function chainProblems(leaf: X509Certificate, chain: X509Certificate[], root: X509Certificate): string[] {
  const issuing = chain[0];
  if (!issuing) return ['chain is empty'];
  const problems: string[] = [];
  if (!leaf.checkIssued(issuing) || !leaf.verify(issuing.publicKey)) problems.push('leaf is not signed by the issuing CA in chain');
  if (!issuing.ca) problems.push('chain certificate is not a CA');
  if (!issuing.checkIssued(root) || !issuing.verify(root.publicKey)) problems.push('issuing CA is not signed by the root');
  if (leaf.ca) problems.push('leaf is a CA certificate');
  const now = Date.now();
  if (!(Date.parse(leaf.validFrom) <= now && now <= Date.parse(leaf.validTo))) {
    problems.push(`leaf is not valid now (${leaf.validFrom} – ${leaf.validTo})`);
  }
  return problems;
}

/** Exactly one URI SAN, equal to what the policy grants the token that asked. */
function identityProblems(leaf: X509Certificate, body: SvidResponse, expected: string | null): string[] {
  if (expected === null) return ['token does not name a Kubernetes namespace/service account, so the SPIFFE ID cannot be checked'];
  const uris = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
  const problems: string[] = [];
  if (uris.length !== 1 || uris[0] !== expected) problems.push(`certificate URI SANs ${JSON.stringify(uris)}, expected ["${expected}"]`);
  if (body.spiffe_id !== expected) problems.push(`spiffe_id ${JSON.stringify(body.spiffe_id)}, expected "${expected}"`);
  return problems;
}

/** The certificate must carry the key of the CSR we sent, not some other key. */
function keyProblems(leaf: X509Certificate, sample: IssuedSample): string[] {
  return leaf.checkPrivateKey(sample.request.privateKey) ? [] : ["certificate's public key does not match the CSR's private key"];
}

function serialProblems(leaf: X509Certificate, serial: string | null): string[] {
  const norm = (s: string): string => s.toLowerCase().replace(/^0+/, '');
  if (serial === null) return ['response has no serial'];
  return norm(leaf.serialNumber) === norm(serial) ? [] : [`serial ${serial} does not match the certificate's ${leaf.serialNumber}`];
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
