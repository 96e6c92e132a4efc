// The JWS rules of RFC 8555 §6.2–6.3: flattened JSON serialization only, a protected header with
// `nonce` and `url`, exactly one of `jwk` and `kid`, and only the algorithms we accept. Signature
// verification itself is jose's; what this module adds is the protocol's rules around it.

import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { acmeError, type AcmeProblem } from './problems.js';

/** Account-key algorithms. Certificate keys are the policy's business, not this list's. */
export const ACCOUNT_KEY_ALGORITHMS = ['ES256', 'RS256'] as const;
export type AccountKeyAlgorithm = (typeof ACCOUNT_KEY_ALGORITHMS)[number];

export interface ProtectedHeader {
  readonly alg: AccountKeyAlgorithm;
  readonly nonce: string | undefined;
  readonly url: string | undefined;
  readonly key: { readonly kind: 'jwk'; readonly jwk: JWK } | { readonly kind: 'kid'; readonly kid: string };
}

export interface Envelope {
  readonly protected: string;
  readonly payload: string;
  readonly signature: string;
  readonly header: ProtectedHeader;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: AcmeProblem };
const bad = (detail: string): Parsed<never> => ({ ok: false, problem: acmeError('malformed', detail) });

/** Parses a request body as a flattened JWS and reads its protected header; verifies nothing yet. */
export function parseEnvelope(body: unknown): Parsed<Envelope> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('the request body is not a JWS object');
  const o = body as Record<string, unknown>;
  if ('signatures' in o) return bad('JWS general serialization is not allowed; use the flattened JSON serialization');
  if ('header' in o) return bad('JWS unprotected header is not allowed');
  for (const k of Object.keys(o)) {
    if (k !== 'protected' && k !== 'payload' && k !== 'signature') return bad(`unexpected JWS member "${k}"`);
  }
  if (typeof o.protected !== 'string' || typeof o.payload !== 'string' || typeof o.signature !== 'string') {
    return bad('the JWS must have string "protected", "payload" and "signature" members');
  }
  const header = readHeader(o.protected);
  if (!header.ok) return header;
  return { ok: true, value: { protected: o.protected, payload: o.payload, signature: o.signature, header: header.value } };
}

function readHeader(b64: string): Parsed<ProtectedHeader> {
  let h: Record<string, unknown>;
  try {
    const v = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('the JWS protected header is not a JSON object');
    h = v as Record<string, unknown>;
  } catch {
    return bad('the JWS protected header is not valid base64url JSON');
  }
  if (typeof h.alg !== 'string' || !(ACCOUNT_KEY_ALGORITHMS as readonly string[]).includes(h.alg)) {
    return {
      ok: false,
      problem: acmeError('badSignatureAlgorithm', `JWS algorithm ${JSON.stringify(h.alg ?? null)} is not supported`, {
        algorithms: ACCOUNT_KEY_ALGORITHMS,
      }),
    };
  }
  if (h.nonce !== undefined && typeof h.nonce !== 'string') return bad('the JWS "nonce" header must be a string');
  if (h.url !== undefined && typeof h.url !== 'string') return bad('the JWS "url" header must be a string');
  if (h.crit !== undefined || h.b64 !== undefined) return bad('the JWS headers "crit" and "b64" are not supported');
  const hasJwk = h.jwk !== undefined;
  const hasKid = h.kid !== undefined;
  if (hasJwk === hasKid) return bad('the JWS protected header must carry exactly one of "jwk" and "kid"');
  let key: ProtectedHeader['key'];
  if (hasKid) {
    if (typeof h.kid !== 'string') return bad('the JWS "kid" header must be a string');
    key = { kind: 'kid', kid: h.kid };
  } else {
    if (typeof h.jwk !== 'object' || h.jwk === null || Array.isArray(h.jwk)) return bad('the JWS "jwk" header must be a JSON object');
    key = { kind: 'jwk', jwk: h.jwk as JWK };
  }
  return { ok: true, value: { alg: h.alg as AccountKeyAlgorithm, nonce: h.nonce as string | undefined, url: h.url as string | undefined, key } };
}

/**
 * The public members of an account key, checked against the algorithm that signs with it. A
 * JWK with private members is refused: whoever sent it has leaked their key to us.
 */
export function publicAccountKey(jwk: JWK, alg: AccountKeyAlgorithm): Parsed<{ jwk: JWK; key: KeyObject }> {
  const badKey = (detail: string): Parsed<never> => ({ ok: false, problem: acmeError('badPublicKey', detail) });
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) return badKey('the JWK contains private key material');
  let pub: JWK;
  if (alg === 'ES256') {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
      return badKey('ES256 needs an EC P-256 key');
    }
    pub = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  } else {
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return badKey('RS256 needs an RSA key');
    pub = { kty: 'RSA', n: jwk.n, e: jwk.e };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return badKey(`the JWK is not a valid public key: ${(err as Error).message}`);
  }
  if (alg === 'RS256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048 || bits > 8192) return badKey(`RSA account keys must be 2048 to 8192 bits, not ${bits}`);
  }
  return { ok: true, value: { jwk: pub, key } };
}

export const thumbprint = (jwk: JWK): Promise<string> => calculateJwkThumbprint(jwk, 'sha256');

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Verifies the signature with `key`; returns the decoded payload bytes. node:crypto's one-shot
 * verify, synchronously: on the ACME path it runs on every request, and the WebCrypto route
 * (jose's) cost measurably more per request in the bench. ES256 signatures are raw r||s
 * (RFC 7518 §3.4), which is what `ieee-p1363` means.
 */
export function verifySignature(env: Envelope, key: KeyObject): Parsed<Buffer> {
  const bad = (detail: string): Parsed<never> => ({ ok: false, problem: acmeError('malformed', `JWS signature does not verify: ${detail}`) });
  if (!B64URL.test(env.protected) || !B64URL.test(env.payload) || !B64URL.test(env.signature)) return bad('its members must be base64url');
  const signature = Buffer.from(env.signature, 'base64url');
  const input = Buffer.from(`${env.protected}.${env.payload}`, 'ascii');
  let ok: boolean;
  try {
    if (env.header.alg === 'ES256') {
      ok = key.asymmetricKeyType === 'ec' && signature.length === 64 && verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    } else {
      ok = key.asymmetricKeyType === 'rsa' && verify('sha256', input, key, signature);
    }
  } catch {
    ok = false;
  }
  return ok ? { ok: true, value: Buffer.from(env.payload, 'base64url') } : bad(`not a valid ${env.header.alg} signature by this key`);
}

/** The payload as JSON; "" is POST-as-GET and comes back as null. */
export function payloadJson(payload: Buffer): Parsed<Record<string, unknown> | null> {
  if (payload.length === 0) return { ok: true, value: null };
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('the JWS payload must be a JSON object');
    return { ok: true, value: v as Record<string, unknown> };
  } catch {
    return bad('the JWS payload is not valid JSON');
  }
}
