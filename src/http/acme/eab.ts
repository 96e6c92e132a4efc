// External account binding (RFC 8555 §7.3.4): an operator hands a VM a key id and an HMAC key;
// the account it creates carries the key's binding name, and the policy decides by that name what
// the account may get.

import { randomBytes } from 'node:crypto';
import { flattenedVerify, type JWK } from 'jose';
import { acmeError } from './problems.js';
import { thumbprint, type Parsed } from './jws.js';
import type { AcmeStore, EabKey } from './store.js';

const MAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

/** Binding names land in SPIFFE IDs and DNS name patterns, so they must be one DNS label. */
export const BINDING_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Key ids as newEabKey makes them (`eab_` and 16 base64url characters); older ones may be up to 64. */
export const EAB_KEY_ID_RE = /^eab_[A-Za-z0-9_-]{1,64}$/;

export function newEabKey(binding: string): EabKey {
  if (!BINDING_RE.test(binding)) {
    throw new Error(`binding ${JSON.stringify(binding)} must be one lower-case DNS label (a-z, 0-9, "-", at most 63 characters)`);
  }
  return { keyId: `eab_${randomBytes(12).toString('base64url')}`, hmacKey: randomBytes(32).toString('base64url'), binding, revoked: false };
}

/**
 * Checks the `externalAccountBinding` member of a newAccount payload against the outer account
 * key; returns the key it was made with.
 */
export async function verifyEab(eab: unknown, accountJwk: JWK, newAccountUrl: string, store: AcmeStore): Promise<Parsed<EabKey>> {
  const malformed = (d: string): Parsed<never> => ({ ok: false, problem: acmeError('malformed', `externalAccountBinding: ${d}`) });
  const unauthorized = (d: string): Parsed<never> => ({ ok: false, problem: acmeError('unauthorized', `externalAccountBinding: ${d}`) });
  if (typeof eab !== 'object' || eab === null || Array.isArray(eab)) return malformed('must be a flattened JWS object');
  const o = eab as Record<string, unknown>;
  if (typeof o.protected !== 'string' || typeof o.payload !== 'string' || typeof o.signature !== 'string' || Object.keys(o).length !== 3) {
    return malformed('must be a flattened JWS with exactly "protected", "payload" and "signature"');
  }
  let header: Record<string, unknown>;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(o.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(o.payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    return malformed('its protected header and payload must be base64url JSON');
  }
  if (typeof header.alg !== 'string' || !MAC_ALGORITHMS.includes(header.alg)) {
    return {
      ok: false,
      problem: acmeError('badSignatureAlgorithm', `externalAccountBinding: algorithm must be one of ${MAC_ALGORITHMS.join(', ')}`, {
        algorithms: MAC_ALGORITHMS,
      }),
    };
  }
  if (header.nonce !== undefined) return malformed('must not carry a nonce');
  if (header.url !== newAccountUrl) return unauthorized(`"url" must be ${newAccountUrl}`);
  if (typeof header.kid !== 'string') return malformed('"kid" must be the key id you were given');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return malformed('its payload must be the account key (JWK)');
  let same: boolean;
  try {
    same = (await thumbprint(payload as JWK)) === (await thumbprint(accountJwk));
  } catch {
    same = false;
  }
  if (!same) return unauthorized('its payload is not the key this account request is signed with');

  const key = await store.eabKey(header.kid);
  if (key === null) return unauthorized(`unknown key id ${JSON.stringify(header.kid)}`);
  if (key.revoked) return unauthorized(`key id ${key.keyId} has been revoked`);
  try {
    await flattenedVerify({ protected: o.protected, payload: o.payload, signature: o.signature }, Buffer.from(key.hmacKey, 'base64url'), {
      algorithms: MAC_ALGORITHMS,
    });
  } catch {
    return unauthorized('the MAC does not verify with the key for this key id');
  }
  return { ok: true, value: key };
}
