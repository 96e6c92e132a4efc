// Bearer-token authentication: JWTs from the configured issuers (Kubernetes service-account
// tokens are the main case), verified with jose against a JWKS file or a cached JWKS URL.

import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { TokenIssuerConfig } from '../../config/config.js';
import type { Requester } from '../../policy/types.js';
import { checkTokenLifetime, type LifetimeClaims } from './token-lifetime.js';

const ALGORITHMS = ['ES256', 'RS256'];
/** Verified tokens are remembered until they expire, so an agent's repeated calls cost one verify. */
const CACHE_ENTRIES = 10_000;

/**
 * On failure, `claimed` is who the token said it was (`iss#sub`, read without trusting it), for
 * the denial row; null when the token could not even be decoded.
 */
export type TokenResult = { ok: true; requester: Extract<Requester, { kind: 'token' }> } | { ok: false; reason: string; claimed: string | null };

interface Trusted {
  readonly config: TokenIssuerConfig;
  readonly keys: JWTVerifyGetKey;
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
      this.issuers.set(config.issuer, { config, keys });
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
      const { payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.config.issuer,
        audience: [...trusted.config.audiences],
        algorithms: ALGORITHMS,
        clockTolerance: this.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      });
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
