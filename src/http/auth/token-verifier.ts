// Bearer-token authentication: JWTs from the configured issuers (Kubernetes service-account
// tokens are the main case), checked against a JWKS file or a cached JWKS URL.
//
// Every workload sends its own token, so most tokens are seen once and the cache of verified
// tokens rarely answers: the first verification is the per-request cost. jose picks the key
// (kid, kty, alg and use, and the JWKS URL's refresh) and checks the claims; the signature itself
// is checked with node:crypto, synchronously. jose's own check goes through WebCrypto, which costs
// about twice the CPU and a round trip through the thread pool on every request.

import { readFileSync } from 'node:fs';
import { KeyObject, verify as verifySignature } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  UnsecuredJWT,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { TokenIssuerConfig } from '../../config/config.js';
import type { Requester } from '../../policy/types.js';
import { checkTokenLifetime, type LifetimeClaims } from './token-lifetime.js';

const ALGORITHMS = ['ES256', 'RS256'];
/** Verified tokens are remembered until they expire, so an agent's repeated calls cost one verify. */
const CACHE_ENTRIES = 10_000;
/**
 * A key jose selected is reused this long without asking it again; after that a key dropped from
 * the issuer's JWKS stops verifying (once jose has re-read the JWKS URL).
 */
const KEY_REUSE_MS = 60_000;
/** The unsecured header under which jose checks a verified token's claims (see claimsOf). */
const UNSECURED_HEADER = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');

/**
 * On failure, `claimed` is who the token said it was (`iss#sub`, read without trusting it), for
 * the denial row; null when the token could not even be decoded.
 */
export type TokenResult = { ok: true; requester: Extract<Requester, { kind: 'token' }> } | { ok: false; reason: string; claimed: string | null };

interface Trusted {
  readonly config: TokenIssuerConfig;
  readonly keys: JWTVerifyGetKey;
  /** Keys jose selected, by alg and kid, as node:crypto KeyObjects. */
  readonly selected: Map<string, { readonly key: KeyObject; readonly until: number }>;
}

interface Cached {
  readonly requester: Extract<Requester, { kind: 'token' }>;
  readonly issuer: Trusted;
  readonly lifetime: LifetimeClaims;
}

export class TokenVerifier {
  private readonly issuers = new Map<string, Trusted>();
  private readonly cache = new Map<string, Cached>();

  constructor(
    configs: readonly TokenIssuerConfig[],
    private readonly clockSkewSeconds = 30,
  ) {
    for (const config of configs) {
      const keys = config.jwksFile
        ? createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, 'utf8')))
        : createRemoteJWKSet(new URL(config.jwksUrl!), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
      this.issuers.set(config.issuer, { config, keys, selected: new Map() });
    }
  }

  async verify(token: string): Promise<TokenResult> {
    // The token itself is the key: hashing it would cost more than the lookup saves in memory.
    const cacheKey = token;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.lifetime.exp > Date.now() / 1000) {
      // The cap is re-checked on every hit (it is arithmetic), so no path around it can exist,
      // whatever put the entry there.
      const cap = this.lifetimeOf(hit.issuer, hit.lifetime);
      return cap.ok ? { ok: true, requester: hit.requester } : { ok: false, reason: cap.reason, claimed: claimOf(hit.requester.claims) };
    }

    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return { ok: false, reason: 'bearer token is not a JWT', claimed: null };
    }
    const trusted = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    const claimed = claimOf(unverified);
    if (!trusted) return { ok: false, reason: `token issuer ${JSON.stringify(unverified.iss ?? null)} is not trusted`, claimed };
    try {
      const payload = await this.verifySignedClaims(token, trusted);
      const lifetime = { exp: payload.exp!, iat: payload.iat, nbf: payload.nbf };
      const cap = this.lifetimeOf(trusted, lifetime);
      if (!cap.ok) return { ok: false, reason: cap.reason, claimed };
      const requester = { kind: 'token' as const, issuer: trusted.config.issuer, subject: payload.sub!, claims: payload };
      this.remember(cacheKey, { requester, issuer: trusted, lifetime });
      return { ok: true, requester };
    } catch (err) {
      return { ok: false, reason: describe(err), claimed };
    }
  }

  /** What jwtVerify checks, in the same order, with the signature checked synchronously. */
  private async verifySignedClaims(token: string, trusted: Trusted): Promise<JWTPayload> {
    const [encodedHeader, encodedPayload, encodedSignature, ...extra] = token.split('.');
    if (encodedHeader === undefined || encodedPayload === undefined || encodedSignature === undefined || extra.length > 0) {
      throw new errors.JWSInvalid('Compact JWS must have three parts');
    }
    const header = decodeProtectedHeader(token);
    // No critical extension is understood here (jose would accept only b64, which a JWT may not turn off).
    if (header.crit !== undefined) throw new errors.JWSInvalid('the "crit" header parameter is not supported');
    if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) throw new errors.JOSEAlgNotAllowed('"alg" not allowed');
    const signature = Buffer.from(encodedSignature, 'base64url');
    const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`);
    let verified: boolean;
    try {
      const key = await this.keyFor(trusted, { ...header, alg: header.alg }, encodedPayload, encodedSignature);
      verified = signatureVerifies(header.alg, key, signed, signature);
    } catch (err) {
      // No kid and several keys fit: as jwtVerify does, any one of them may have signed it.
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
      verified = false;
      for await (const candidate of err as unknown as AsyncIterable<CryptoKey>) {
        if (signatureVerifies(header.alg, KeyObject.from(candidate), signed, signature)) verified = true;
        if (verified) break;
      }
    }
    if (!verified) throw new errors.JWSSignatureVerificationFailed();
    return claimsOf(encodedPayload, trusted.config, this.clockSkewSeconds);
  }

  private async keyFor(trusted: Trusted, header: JWTHeaderParameters, payload: string, signature: string): Promise<KeyObject> {
    const id = `${header.alg}|${header.kid ?? ''}`;
    const now = Date.now();
    const hit = trusted.selected.get(id);
    if (hit && hit.until > now) return hit.key;
    const selected = await trusted.keys(header, { payload, signature });
    const key = selected instanceof Uint8Array ? null : KeyObject.from(selected as CryptoKey);
    if (key === null || key.type !== 'public') throw new errors.JWKSInvalid("the issuer's key is not a public key");
    if (trusted.selected.size >= 64) trusted.selected.clear();
    trusted.selected.set(id, { key, until: now + KEY_REUSE_MS });
    return key;
  }

  private lifetimeOf(trusted: Trusted, claims: LifetimeClaims) {
    return checkTokenLifetime(claims, trusted.config.maxTokenLifetimeSeconds, Date.now() / 1000, this.clockSkewSeconds);
  }

  private remember(key: string, entry: Cached): void {
    if (this.cache.size >= CACHE_ENTRIES) {
      // Map iteration is insertion order: drop the oldest entry.
      this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(key, entry);
  }
}

function signatureVerifies(alg: string, key: KeyObject, signed: Buffer, signature: Buffer): boolean {
  if (alg === 'ES256') {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1' || signature.length !== 64) return false;
    return verifySignature('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
  }
  if (alg === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
    return verifySignature('sha256', signed, key, signature);
  }
  return false;
}

/**
 * The claims checked by jose exactly as jwtVerify would (iss, aud, exp, nbf, iat, sub present,
 * clock tolerance). jose exposes that check only through UnsecuredJWT, so the verified payload is
 * handed to it under an unsecured header; nothing unsigned ever reaches this function.
 */
function claimsOf(encodedPayload: string, config: TokenIssuerConfig, clockSkewSeconds: number): JWTPayload {
  return UnsecuredJWT.decode(`${UNSECURED_HEADER}.${encodedPayload}.`, {
    issuer: config.issuer,
    audience: [...config.audiences],
    clockTolerance: clockSkewSeconds,
    requiredClaims: ['exp', 'sub'],
  }).payload;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim "${err.claim}" is not acceptable: ${err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed (ES256 or RS256)';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token';
  if (err instanceof Error) return `token rejected: ${err.message}`;
  return 'token rejected';
}

/** `iss#sub` as the token states them, printable and bounded: it is attacker-chosen text. */
function claimOf(payload: JWTPayload): string {
  const part = (v: unknown): string => (typeof v === 'string' ? v.replace(/[^\x21-\x7e]/g, '?').slice(0, 200) : '?');
  return `${part(payload.iss)}#${part(payload.sub)}`;
}
