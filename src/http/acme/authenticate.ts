// Turns an ACME POST into a verified request, or an ACME problem (RFC 8555 §6.2–6.5): content
// type, flattened JWS, `url`, `jwk`-or-`kid` for the resource, the account's state, the
// signature, and last the nonce, so that a forged request cannot use up a client's nonce.

import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import { parseEnvelope, payloadJson, publicAccountKey, thumbprint, verifySignature, type Envelope } from './jws.js';
import type { NonceMint } from './nonces.js';
import { acmeAnswer, acmeError, fail, raise, type AcmeProblem } from './problems.js';
import type { Issuer } from '../../issuance/issuer.js';
import type { UnverifiedRequester } from '../../audit/event.js';
import type { Account, AcmeStore } from './store.js';
import type { Urls } from './urls.js';

export type Payload = Record<string, unknown> | null;

export type Signed =
  | { readonly by: 'account'; readonly account: Account; readonly payload: Payload; readonly envelope: Envelope }
  | {
      readonly by: 'jwk';
      readonly jwk: JWK;
      readonly key: KeyObject;
      readonly thumbprint: string;
      readonly payload: Payload;
      readonly envelope: Envelope;
    };

/** Which key identification the resource takes: only newAccount and revokeCert accept `jwk`. */
export type KeyMode = 'kid' | 'jwk' | 'either';

/** Account keys as KeyObjects, so that a busy account does not re-import its JWK per request. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 50_000;

function accountKey(a: Account): KeyObject {
  let key = keyCache.get(a.thumbprint);
  if (key === undefined) {
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    key = createPublicKey({ key: a.jwk as JsonWebKey, format: 'jwk' });
    keyCache.set(a.thumbprint, key);
  }
  return key;
}

/**
 * Accounts as read a moment ago. Every ACME request names its account, and reading it each time
 * was the largest share of the database work per order. The cost: a deactivation or key change
 * made through another replica takes effect here up to this long afterwards (on this replica,
 * at once: its routes call forgetAccount).
 */
const ACCOUNT_CACHE_MS = 1_000;
const accountCache = new Map<string, { account: Account; until: number }>();

async function cachedAccount(store: AcmeStore, id: string): Promise<Account | null> {
  const now = Date.now();
  const hit = accountCache.get(id);
  if (hit !== undefined && hit.until > now) return hit.account;
  const account = await store.accountById(id);
  if (accountCache.size >= KEY_CACHE_MAX) accountCache.clear();
  if (account !== null) accountCache.set(id, { account, until: now + ACCOUNT_CACHE_MS });
  else accountCache.delete(id);
  return account;
}

export function forgetAccount(id: string): void {
  accountCache.delete(id);
}

export const JOSE_CONTENT_TYPE = 'application/jose+json';

/** Rule name of ACME's own authentication refusals. */
export const ACME_AUTHENTICATION_RULE = 'acme:authentication';

export async function authenticate(
  req: FastifyRequest,
  urls: Urls,
  mode: KeyMode,
  deps: { readonly store: AcmeStore; readonly nonces: NonceMint; readonly issuer: Issuer },
): Promise<Signed> {
  // A request whose signer is unknown, not valid, or whose signature does not verify failed
  // authentication: recorded like on every path, against the key id it named, then answered.
  const refused = async (claimed: string | null, problem: AcmeProblem): Promise<never> => {
    const requester: UnverifiedRequester = { kind: 'unverified', presented: 'acme-jws', claimed };
    const outcome = await deps.issuer.refuse(
      { path: 'acme', requester, client: req.ip },
      { code: 'unauthenticated', rule: ACME_AUTHENTICATION_RULE, reason: problem.detail },
    );
    raise(outcome.kind === 'unavailable' ? acmeAnswer(outcome) : problem);
  };
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== JOSE_CONTENT_TYPE) {
    fail('malformed', `Content-Type must be ${JOSE_CONTENT_TYPE}, not ${JSON.stringify(type || 'none')}`, { status: 415 });
  }
  let body: unknown;
  try {
    body = JSON.parse((req.body as Buffer | undefined)?.toString('utf8') ?? '');
  } catch {
    fail('malformed', 'the request body is not valid JSON');
  }
  const parsed = parseEnvelope(body);
  if (!parsed.ok) raise(parsed.problem);
  const env = parsed.value;
  const h = env.header;

  const expectedUrl = urls.requestUrl(req);
  if (h.url === undefined) fail('malformed', 'the JWS protected header must carry "url"');
  if (h.url !== expectedUrl) fail('unauthorized', `the JWS "url" header is ${JSON.stringify(h.url)}, but this request went to ${expectedUrl}`);
  if (mode === 'kid' && h.key.kind !== 'kid') fail('malformed', 'this resource needs a JWS signed by an account ("kid"), not an embedded "jwk"');
  if (mode === 'jwk' && h.key.kind !== 'jwk') fail('malformed', 'this resource needs an embedded "jwk", not a "kid"');

  let signed: Signed;
  if (h.key.kind === 'kid') {
    const kid = h.key.kid.slice(0, 256);
    const id = urls.accountIdOf(h.key.kid);
    if (id === null) return refused(kid, acmeError('accountDoesNotExist', `"kid" ${JSON.stringify(h.key.kid)} is not an account URL of this server`));
    const account = await cachedAccount(deps.store, id);
    if (account === null) return refused(kid, acmeError('accountDoesNotExist', `no account ${h.key.kid}`));
    if (account.status !== 'valid') return refused(kid, acmeError('unauthorized', `account ${h.key.kid} is ${account.status}`));
    const alg = account.jwk.kty === 'EC' ? 'ES256' : 'RS256';
    if (h.alg !== alg) fail('badSignatureAlgorithm', `this account's key signs with ${alg}, not ${h.alg}`, { algorithms: [alg] });
    const payload = verifySignature(env, accountKey(account));
    if (!payload.ok) return refused(kid, payload.problem);
    signed = { by: 'account', account: account, payload: json(payload.value), envelope: env };
  } else {
    const key = publicAccountKey(h.key.jwk, h.alg);
    if (!key.ok) raise(key.problem);
    const payload = verifySignature(env, key.value.key);
    if (!payload.ok) return refused(`jwk ${await thumbprint(key.value.jwk)}`, payload.problem);
    signed = {
      by: 'jwk',
      jwk: key.value.jwk,
      key: key.value.key,
      thumbprint: await thumbprint(key.value.jwk),
      payload: json(payload.value),
      envelope: env,
    };
  }

  if (h.nonce === undefined) fail('badNonce', 'the JWS protected header must carry a "nonce" from this server');
  const spent = await deps.nonces.spend(h.nonce);
  if (!spent.ok) fail('badNonce', spent.reason);
  return signed;
}

function json(payload: Buffer): Payload {
  const p = payloadJson(payload);
  if (!p.ok) raise(p.problem);
  return p.value;
}

/** The account a `kid` request was signed by; for routes that accept only that. */
export function signer(s: Signed): Account {
  if (s.by !== 'account') throw new Error('signer() on a jwk-signed request');
  return s.account;
}
