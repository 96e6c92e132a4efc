// The issuance API as mesh agents use it: POST /v1/svids with a bearer token over a kept-alive
// connection. Requests (key, CSR, token, serialized body) are prepared up front and cycled.
// With `freshTokens`, every request instead carries a token of its own, never sent before, as a
// fleet of workloads does; the tokens are made up front as well.

import { Client } from 'undici';
import { verifySamples, type IssuedSample } from '../verify.js';
import { svidsPath, type Credential, type PreparedRequest } from '../workload.js';
import { describeError, type Scenario, type ScenarioClient } from './scenario.js';

/** Where fresh tokens come from; null when every prepared token has been sent. */
export interface TokenSource {
  take(): Credential | null;
}

export function apiScenario(url: URL, rootPem: string, requests: readonly PreparedRequest[], freshTokens?: TokenSource): Scenario<IssuedSample> {
  const path = svidsPath(url);
  let cursor = 0;
  const cycled = (): PreparedRequest => requests[cursor++ % requests.length]!;
  const next = (): PreparedRequest | null => {
    const request = cycled();
    if (!freshTokens) return request;
    const credential = freshTokens.take();
    if (credential === null) return null;
    return { ...request, credential, headers: { ...request.headers, authorization: `Bearer ${credential.token}` } };
  };
  return {
    kind: 'api',
    async clients(count) {
      return Array.from({ length: count }, (): ScenarioClient<IssuedSample> => {
        const client = new Client(url.origin, { connect: { ca: rootPem }, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
        return {
          async attempt() {
            const request = next();
            if (request === null) return { ok: false, error: 'api: the fresh tokens ran out (mint more: a reused token would be a cache hit)' };
            try {
              const res = await client.request({ method: 'POST', path, headers: request.headers, body: request.body });
              const body = await res.body.text();
              if (res.statusCode !== 201) return { ok: false, error: `api HTTP ${res.statusCode}: ${body.slice(0, 160)}` };
              return { ok: true, serial: () => (JSON.parse(body) as { serial: string }).serial, sample: () => ({ request, body }) };
            } catch (err) {
              return { ok: false, error: `api ${describeError(err)}` };
            }
          },
          close: () => client.close(),
        };
      });
    },
    verify(samples) {
      const result = verifySamples(samples, rootPem, Math.max(1, samples.length));
      return { checked: result.checked, failures: result.failures.map((f) => `${f.serial ?? '?'}: ${f.problems.join('; ')}`) };
    },
  };
}
