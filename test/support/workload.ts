// Everything a request needs, prepared before any clock starts: key pairs, CSRs already wrapped
// in serialized JSON bodies, and per-token headers. The timed loop only picks a prepared request.

import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildCsr } from './csr.js';

export interface Credential {
  readonly token: string;
  /** What the default policy grants this token, or null if the token does not name one. */
  readonly expectedSpiffeId: string | null;
}

export interface PreparedRequest {
  readonly index: number;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly privateKey: KeyObject;
  readonly credential: Credential;
}

/** Where POST /v1/svids is under a server URL that may carry a path prefix. */
export function svidsPath(url: URL): string {
  return `${url.pathname.replace(/\/+$/, '')}/v1/svids`;
}

/** The default policy's grant for a Kubernetes service-account token. */
export function spiffeIdFor(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * For tokens we did not mint (remote mode), the identity is read from the token's own claims.
 * The signature is not checked here: the server does that, and a forged claim would simply
 * show up as a mismatch or an error.
 */
export function credentialFromToken(token: string, trustDomain: string): Credential {
  const payload = token.split('.')[1];
  try {
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as {
      'kubernetes.io'?: { namespace?: unknown; serviceaccount?: { name?: unknown } };
    };
    const k8s = claims['kubernetes.io'];
    const ns = k8s?.namespace;
    const sa = k8s?.serviceaccount?.name;
    return { token, expectedSpiffeId: typeof ns === 'string' && typeof sa === 'string' ? spiffeIdFor(trustDomain, ns, sa) : null };
  } catch {
    return { token, expectedSpiffeId: null };
  }
}

export function readTokenFile(file: string): string[] {
  const tokens = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  if (tokens.length === 0) throw new Error(`${file} holds no tokens (one bearer token per line)`);
  return tokens;
}

/**
 * `count` distinct P-256 keys and CSRs, paired round-robin with the credentials. Pairing is
 * fixed so a verified certificate can be traced back to the exact key and token that asked for it.
 */
export function prepareRequests(count: number, credentials: readonly Credential[]): PreparedRequest[] {
  if (credentials.length === 0) throw new Error('no credentials to send');
  return Array.from({ length: count }, (_, index) => {
    const csr = buildCsr();
    const credential = credentials[index % credentials.length]!;
    return {
      index,
      body: Buffer.from(JSON.stringify({ csr: csr.pem })),
      headers: { authorization: `Bearer ${credential.token}`, 'content-type': 'application/json', accept: 'application/json' },
      privateKey: csr.key,
      credential,
    };
  });
}
