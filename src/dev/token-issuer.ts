// The development token issuer: stands in for the Kubernetes API server's service-account token
// signer so the embedded mode can be tried without a cluster. Its JWKS is trusted like any other
// token issuer's; nothing else about it is special.

import { createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivate } from '../ca/ceremony.js';
import { exportPrivateKey, generateP256 } from '../pki/keys.js';

export function devIssuerFiles(dir: string) {
  return { key: join(dir, 'signing-key.pem'), jwks: join(dir, 'jwks.json') };
}

/** Creates the signing key and its JWKS on first use; later calls keep them. */
export function ensureDevTokenIssuer(dir: string): { jwksFile: string } {
  const files = devIssuerFiles(dir);
  if (!existsSync(files.key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateP256();
    const jwk = publicKey.export({ format: 'jwk' });
    writePrivate(files.key, exportPrivateKey(privateKey));
    // Only the public key, but the data directory is private throughout (0600 files).
    writeFileSync(files.jwks, JSON.stringify({ keys: [{ ...jwk, kid: kidOf(jwk), use: 'sig', alg: 'ES256' }] }, null, 2), { mode: 0o600 });
  }
  return { jwksFile: files.jwks };
}

function kidOf(jwk: { x?: string }): string {
  return `dev-${(jwk.x ?? '').slice(0, 16)}`;
}

export interface DevTokenRequest {
  readonly issuer: string;
  readonly audience: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly ttlSeconds: number;
}

/** A token shaped like a Kubernetes projected service-account token. */
export function mintDevToken(dir: string, req: DevTokenRequest): Promise<string> {
  return Promise.resolve(devTokenMinter(dir)(req));
}

/**
 * Loads the signing key once and signs synchronously with node:crypto, for callers that mint many
 * tokens (the bench's fresh-token mode mints tens of thousands before its clock starts; jose's
 * WebCrypto signing takes milliseconds each on a busy machine). The same claims as jose would write.
 */
export function devTokenMinter(dir: string): (req: DevTokenRequest) => string {
  const files = devIssuerFiles(dir);
  if (!existsSync(files.key)) throw new Error(`no development token issuer in ${dir}: start the CA once first`);
  const key = createPrivateKey(readFileSync(files.key, 'utf8'));
  const header = b64url({ alg: 'ES256', kid: kidOf(createPublicKey(key).export({ format: 'jwk' })), typ: 'JWT' });
  return (req) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = b64url({
      'kubernetes.io': { namespace: req.namespace, serviceaccount: { name: req.serviceAccount, uid: randomUUID() } },
      iss: req.issuer,
      aud: [req.audience],
      sub: `system:serviceaccount:${req.namespace}:${req.serviceAccount}`,
      iat: now,
      nbf: now,
      exp: now + req.ttlSeconds,
      jti: randomUUID(),
    });
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
    return `${header}.${payload}.${signature.toString('base64url')}`;
  };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
