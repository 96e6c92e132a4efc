// Whole ACME orders (RFC 8555) as a VM agent makes them, in k6: an account per VU (created on
// its first iteration with an EAB key), then per iteration newOrder → authorization → http-01 →
// poll → finalize → poll → certificate. JWS (ES256) and the EAB MAC (HS256) are computed here with
// k6's WebCrypto and k6/crypto. k6 cannot answer http-01 itself, so each key authorization is
// handed to http01-responder.ts, which serves it where the CA looks (see load/k6/README.md).

import { check, sleep } from 'k6';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import encoding from 'k6/encoding';
import { hmac, sha256 } from 'k6/crypto';
import { Trend } from 'k6/metrics';
import { BASE_URL, env } from './common.js';

/** [{ name, csr }]: a fresh DNS name per order and its CSR (base64url DER), from prepare.ts. */
const orders = /** @type {{ name: string, csr: string }[]} */ (
  /** @type {unknown} */ (new SharedArray('acme orders', () => JSON.parse(open(env('ACME_DATA', '../data/acme.json')))))
);
const orderDuration = new Trend('acme_order_duration', true);
const RESPONDER = env('RESPONDER_URL', 'http://127.0.0.1:8089');
const POLL_SECONDS = Number(env('ACME_POLL_SECONDS', '0.05'));

/** Per-VU state: k6 runs each VU in its own JS runtime, so module scope is the VU's. */
/** @type {{ directory: Record<string, string>, key: CryptoKey, jwk: JsonWebKey, kid: string, thumbprint: string } | null} */
let account = null;
/** @type {string | null} */
let nonce = null;

/** @param {string | ArrayBuffer} data */
const b64u = (data) => encoding.b64encode(data, 'rawurl');

/** The JWS signing input is base64url and '.', so ASCII: one byte per character. @param {string} s */
function ascii(s) {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** @param {import('k6/http').RefinedResponse<any>} res */
function keepNonce(res) {
  const n = res.headers['Replay-Nonce'];
  if (n) nonce = n;
}

function freshNonce(directory) {
  const res = http.head(directory.newNonce, { tags: { path: 'acme', step: 'newNonce' } });
  keepNonce(res);
}

/**
 * A JWS-signed POST; retried once on badNonce, as clients do.
 * @param {string} url @param {unknown} payload ('' for POST-as-GET) @param {string} step
 * @param {{ jwk?: JsonWebKey, extra?: Record<string, unknown> }} [opts]
 */
async function post(url, payload, step, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    if (!nonce) freshNonce(account ? account.directory : /** @type {any} */ (opts.extra).directory);
    const header = { alg: 'ES256', nonce, url, ...(opts.jwk ? { jwk: opts.jwk } : { kid: account.kid }) };
    nonce = null;
    const protectedB64 = b64u(JSON.stringify(header));
    const payloadB64 = payload === '' ? '' : b64u(JSON.stringify(payload));
    const key = opts.jwk ? /** @type {any} */ (opts.extra).key : account.key;
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: { name: 'SHA-256' } }, key, ascii(`${protectedB64}.${payloadB64}`));
    const res = http.post(url, JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64u(signature) }), {
      headers: { 'content-type': 'application/jose+json' },
      tags: { path: 'acme', step },
      responseCallback: http.expectedStatuses(200, 201),
    });
    keepNonce(res);
    if (res.status === 400 && attempt === 0 && String(res.body).includes('badNonce')) continue;
    return res;
  }
}

async function createAccount() {
  const directory = /** @type {Record<string, string>} */ (
    http.get(`${BASE_URL}/acme/directory`, { tags: { path: 'acme', step: 'directory' } }).json()
  );
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const full = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const jwk = { crv: 'P-256', kty: 'EC', x: full.x, y: full.y };
  const thumbprint = sha256(JSON.stringify(jwk), 'base64rawurl');
  /** @type {Record<string, unknown>} */
  const body = { termsOfServiceAgreed: true };
  if (__ENV.EAB_KID) body.externalAccountBinding = eab(jwk, directory.newAccount);
  const res = await post(directory.newAccount, body, 'newAccount', { jwk, extra: { key: pair.privateKey, directory } });
  if (!check(res, { 'acme: account created': (r) => r.status === 201 || r.status === 200 })) return null;
  return { directory, key: pair.privateKey, jwk, kid: String(res.headers.Location), thumbprint };
}

/** RFC 8555 §7.3.4: the account key, MACed with the operator's EAB key. */
function eab(jwk, url) {
  const protectedB64 = b64u(JSON.stringify({ alg: 'HS256', kid: __ENV.EAB_KID, url }));
  const payloadB64 = b64u(JSON.stringify(jwk));
  const secret = encoding.b64decode(env('EAB_HMAC_KEY', ''), 'rawurl');
  return { protected: protectedB64, payload: payloadB64, signature: hmac('sha256', secret, `${protectedB64}.${payloadB64}`, 'base64rawurl') };
}

/** Polls a resource (POST-as-GET) while its status is one of `waiting`. */
async function poll(url, waiting, step) {
  for (;;) {
    const res = await post(url, '', step);
    const status = res.status === 200 ? /** @type {any} */ (res.json()).status : 'error';
    if (!waiting.includes(status)) return res;
    sleep(POLL_SECONDS);
  }
}

export async function acmeIteration() {
  account ??= await createAccount();
  if (!account) return;
  const i = exec.scenario.iterationInTest;
  if (!check(i, { 'acme: a prepared name is left': (n) => n < orders.length })) return;
  const { name, csr } = orders[i];
  const started = Date.now();

  const created = await post(account.directory.newOrder, { identifiers: [{ type: 'dns', value: name }] }, 'newOrder');
  if (!check(created, { 'acme: order created': (r) => r.status === 201 })) return;
  const order = /** @type {any} */ (created.json());
  for (const authzUrl of order.authorizations) {
    const authz = /** @type {any} */ ((await post(authzUrl, '', 'authorization')).json());
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    const published = http.put(`${RESPONDER}/${challenge.token}`, `${challenge.token}.${account.thumbprint}`, { tags: { path: 'responder' } });
    if (!check(published, { 'acme: key authorization published': (r) => r.status === 204 })) return;
    await post(challenge.url, {}, 'challenge');
    const done = await poll(authzUrl, ['pending', 'processing'], 'authorization');
    if (!check(done, { 'acme: authorization valid': (r) => /** @type {any} */ (r.json()).status === 'valid' })) return;
  }
  const finalized = await post(order.finalize, { csr }, 'finalize');
  if (!check(finalized, { 'acme: finalize accepted': (r) => r.status === 200 })) return;
  const final = await poll(String(created.headers.Location), ['ready', 'processing'], 'order');
  const finalOrder = /** @type {any} */ (final.json());
  if (!check(finalOrder, { 'acme: order valid': (o) => o.status === 'valid' })) return;
  const cert = await post(finalOrder.certificate, '', 'certificate');
  if (check(cert, { 'acme: certificate chain': (r) => r.status === 200 && String(r.body).includes('BEGIN CERTIFICATE') })) {
    orderDuration.add(Date.now() - started);
  }
}
