// Renewal as a workload does it: POST /v1/svids over mTLS, its current SVID as the client
// certificate, on a kept-alive connection. Each client first gets its own SVID with a bearer
// token, before any clock starts; every timed attempt then renews with that SVID (the server
// checks it and its revocation on every request).

import { Client } from 'undici';
import { verifySamples, type IssuedSample } from '../verify.js';
import { svidsPath, type PreparedRequest } from '../workload.js';
import { describeError, type Scenario, type ScenarioClient } from './scenario.js';

interface Svid {
  readonly cert: string;
  readonly key: string;
}

export function renewScenario(url: URL, rootPem: string, requests: readonly PreparedRequest[]): Scenario<IssuedSample> {
  const path = svidsPath(url);
  let cursor = 0;
  const next = (): PreparedRequest => requests[cursor++ % requests.length]!;
  return {
    kind: 'renew',
    async clients(count) {
      const bootstrap = new Client(url.origin, { connect: { ca: rootPem } });
      try {
        const clients: ScenarioClient<IssuedSample>[] = [];
        for (let i = 0; i < count; i++) {
          const first = next();
          const svid = await obtainSvid(bootstrap, path, first);
          clients.push(renewingClient(url, rootPem, path, svid, first, next));
        }
        return clients;
      } finally {
        await bootstrap.close();
      }
    },
    verify(samples) {
      const result = verifySamples(samples, rootPem, Math.max(1, samples.length));
      return { checked: result.checked, failures: result.failures.map((f) => `${f.serial ?? '?'}: ${f.problems.join('; ')}`) };
    },
  };
}

/** The SVID a client renews with: issued to `request`'s token for `request`'s key. */
async function obtainSvid(client: Client, path: string, request: PreparedRequest): Promise<Svid> {
  const res = await client.request({ method: 'POST', path, headers: request.headers, body: request.body });
  const body = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`renew: the first SVID was refused (HTTP ${res.statusCode}): ${body.slice(0, 300)}`);
  const json = JSON.parse(body) as { certificate: string; chain: string };
  return { cert: json.certificate + json.chain, key: request.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

function renewingClient(
  url: URL,
  rootPem: string,
  path: string,
  svid: Svid,
  owner: PreparedRequest,
  next: () => PreparedRequest,
): ScenarioClient<IssuedSample> {
  const client = new Client(url.origin, {
    connect: { ca: rootPem, cert: svid.cert, key: svid.key },
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  return {
    async attempt() {
      const csr = next();
      try {
        const res = await client.request({ method: 'POST', path, headers, body: csr.body });
        const body = await res.body.text();
        if (res.statusCode !== 201) return { ok: false, error: `renew HTTP ${res.statusCode}: ${body.slice(0, 160)}` };
        // The renewed certificate names the SVID's owner and carries the new CSR's key.
        const request: PreparedRequest = { ...csr, credential: owner.credential };
        return { ok: true, serial: () => (JSON.parse(body) as { serial: string }).serial, sample: () => ({ request, body }) };
      } catch (err) {
        return { ok: false, error: `renew ${describeError(err)}` };
      }
    },
    close: () => client.close(),
  };
}
