// ACME challenge validation (RFC 8555 §8.3, §8.4; RFC 8737): does the host behind a name hold
// the key authorization? Expected failures come back as values carrying an ACME error type; the
// caller turns them into problem documents and authorization states.

import { createResolver, type ValidationContext } from './context.js';
import { validateDns01 } from './dns01.js';
import { validateHttp01 } from './http01.js';
import { checkTokenAndKeyAuthorization, normalizeHostName } from './identifier.js';
import { networksOf } from './networks.js';
import { validateTlsAlpn01 } from './tls-alpn01.js';
import { failed, type ChallengeType, type ValidationOutcome, type ValidationSettings } from './types.js';

export type { ChallengeType, ValidationError, ValidationErrorType, ValidationOutcome, ValidationSettings } from './types.js';
export { ValidationNetworks } from './networks.js';

/**
 * `keyAuthorization` = token + "." + base64url(JWK thumbprint of the account key), computed by
 * the caller. `domain` is a plain host name; for a wildcard identifier pass its base name
 * (RFC 8555 §7.1.3). Settings that could not have come from a valid configuration throw.
 */
export async function validateChallenge(
  type: ChallengeType,
  domain: string,
  token: string,
  keyAuthorization: string,
  settings: ValidationSettings,
): Promise<ValidationOutcome> {
  checkSettings(settings);
  const networks = networksOf(settings);
  const name = normalizeHostName(domain);
  if (name === null)
    return failed('malformed', `${JSON.stringify(domain)} is not a DNS name that can be validated (IP addresses and wildcards are not)`);
  const inputProblem = checkTokenAndKeyAuthorization(token, keyAuthorization);
  if (inputProblem !== null) return failed('malformed', inputProblem);

  const done = new AbortController();
  const ctx: ValidationContext = {
    settings,
    resolver: createResolver(settings, done.signal),
    networks,
    lastAddress: null,
    signal: done.signal,
    stage: { kind: 'dns', what: 'starting' },
  };
  let timer: NodeJS.Timeout | undefined;
  // The deadline wins the race even if some step were to ignore the signal; aborting then
  // closes every socket and cancels every query the validation still has open.
  const deadline = new Promise<ValidationOutcome>((resolve) => {
    timer = setTimeout(() => {
      const { kind, what } = ctx.stage;
      resolve(failed(kind, `Validation timed out after ${settings.timeoutMs} ms while ${what}`));
    }, settings.timeoutMs);
  });
  try {
    const outcome = await Promise.race([run(ctx, type, name, token, keyAuthorization), deadline]);
    return ctx.lastAddress === null ? outcome : { ...outcome, address: ctx.lastAddress };
  } finally {
    clearTimeout(timer);
    done.abort();
  }
}

function run(ctx: ValidationContext, type: ChallengeType, domain: string, token: string, keyAuthorization: string): Promise<ValidationOutcome> {
  switch (type) {
    case 'http-01':
      return validateHttp01(ctx, domain, token, keyAuthorization);
    case 'dns-01':
      return validateDns01(ctx, domain, keyAuthorization);
    case 'tls-alpn-01':
      return validateTlsAlpn01(ctx, domain, keyAuthorization);
    default:
      return Promise.resolve(failed('malformed', `unsupported challenge type ${JSON.stringify(type)}`));
  }
}

function checkSettings(s: ValidationSettings): void {
  const port = (p: number) => Number.isInteger(p) && p > 0 && p < 65536;
  if (!port(s.http01Port) || !port(s.tlsAlpn01Port)) throw new RangeError('validation ports must be integers from 1 to 65535');
  if (!(s.timeoutMs > 0) || !Number.isInteger(s.maxRedirects) || s.maxRedirects < 0 || !(s.maxResponseBytes > 0)) {
    throw new RangeError('validation timeout, redirect limit and response size limit must be positive');
  }
  if (s.resolver !== null && !/^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+)(?::\d{1,5})?$/.test(s.resolver)) {
    throw new RangeError(`validation resolver must be "address" or "address:port", not ${JSON.stringify(s.resolver)}`);
  }
}
