// The maximum lifetime of a bearer token. A stolen token is good until its `exp`; a signature
// check alone would accept one that an issuer (or someone holding its key) made valid for a
// century. Kubernetes projected service-account tokens live an hour by default, so a cap of a
// day refuses nothing legitimate.

export interface LifetimeClaims {
  readonly exp: number;
  readonly iat?: number | undefined;
  readonly nbf?: number | undefined;
}

export type LifetimeCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Lifetime is exp minus the token's start: `iat`, else `nbf`, else now. A start in the future
 * counts as now, so a token can never claim a short life it has not begun yet and stay usable
 * for longer. Measured from now (no usable claim), the clock skew is allowed on top, because
 * then the answer depends on this machine's clock and not only on the issuer's claims.
 */
export function checkTokenLifetime(claims: LifetimeClaims, maxSeconds: number, nowSeconds: number, skewSeconds: number): LifetimeCheck {
  const claimed = claims.iat ?? claims.nbf;
  const fromNow = claimed === undefined || claimed > nowSeconds;
  const start = fromNow ? nowSeconds : claimed;
  const lifetime = claims.exp - start;
  const allowed = maxSeconds + (fromNow ? skewSeconds : 0);
  if (lifetime <= allowed) return { ok: true };
  const measured = fromNow ? 'from now' : claims.iat !== undefined ? 'from its "iat"' : 'from its "nbf"';
  return {
    ok: false,
    reason: `token lifetime ${describeSeconds(lifetime)} (${measured} to its "exp") exceeds this issuer's maximum of ${describeSeconds(maxSeconds)}`,
  };
}

/** Exact seconds, so a refusal at the boundary still reads as a refusal, and days or hours for scale. */
function describeSeconds(s: number): string {
  const whole = Math.floor(s);
  if (whole >= 2 * 86_400) return `${whole} s (${Math.floor(whole / 86_400)} days)`;
  if (whole >= 2 * 3600) return `${whole} s (${Math.floor(whole / 3600)} hours)`;
  return `${whole} s`;
}
