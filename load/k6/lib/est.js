// EST simpleenroll as a gateway: TLS client certificate (options.tlsAuth), base64 PKCS#10 body.

import { check } from 'k6';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import encoding from 'k6/encoding';
import { BASE_URL, env } from './common.js';

/** Base64 DER CSRs of the gateway's devices. */
const csrs = /** @type {string[]} */ (
  /** @type {unknown} */ (new SharedArray('est csrs', () => JSON.parse(open(env('EST_DATA', '../data/est.json')))))
);
const label = env('EST_LABEL', '');
const path = label ? `/.well-known/est/${label}/simpleenroll` : '/.well-known/est/simpleenroll';

/** The gateway's certificate for every request to the CA's host (k6 picks it by domain). */
export function estTlsAuth() {
  const cert = __ENV.EST_CERT;
  const key = __ENV.EST_KEY;
  if (!cert || !key) return [];
  return [{ domains: [new URL(BASE_URL).hostname], cert: open(cert), key: open(key) }];
}

export function estIteration() {
  const csr = csrs[exec.scenario.iterationInTest % csrs.length];
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64' };
  if (__ENV.EST_USER) headers.authorization = `Basic ${encodeBasic(__ENV.EST_USER, env('EST_PASSWORD', ''))}`;
  const res = http.post(`${BASE_URL}${path}`, csr, { headers, tags: { path: 'est' } });
  check(res, {
    'est: 200': (x) => x.status === 200,
    'est: PKCS#7 reply': (x) => String(x.headers['Content-Type'] ?? '').startsWith('application/pkcs7-mime'),
  });
}

/** @param {string} user @param {string} password */
function encodeBasic(user, password) {
  return encoding.b64encode(`${user}:${password}`, 'std');
}
