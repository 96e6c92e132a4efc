// POST /v1/svids with a bearer token, one prepared CSR per attempt (prepare.ts writes the file).

import { check } from 'k6';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import { BASE_URL, env } from './common.js';

/** [{ csr: PEM, token: JWT }], shared read-only by every VU. */
const requests = /** @type {{ csr: string, token: string }[]} */ (
  /** @type {unknown} */ (new SharedArray('api requests', () => JSON.parse(open(env('API_DATA', '../data/api.json')))))
);

export function apiIteration() {
  const r = requests[exec.scenario.iterationInTest % requests.length];
  const res = http.post(`${BASE_URL}/v1/svids`, JSON.stringify({ csr: r.csr }), {
    headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json', accept: 'application/json' },
    tags: { path: 'api' },
  });
  check(res, {
    'api: 201': (x) => x.status === 201,
    'api: certificate and SPIFFE ID': (x) => {
      const body = /** @type {any} */ (x.status === 201 ? x.json() : {});
      return typeof body.certificate === 'string' && String(body.spiffe_id).startsWith('spiffe://');
    },
  });
}
