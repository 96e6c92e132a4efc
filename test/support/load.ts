// Drives POST /v1/svids at a fixed concurrency over kept-alive TLS connections, as agents do,
// and returns what each request got back.

import { Agent, request } from 'node:https';
import { buildCsr } from './csr.js';

export interface LoadResult {
  readonly serials: string[];
  readonly statuses: Map<number, number>;
}

export async function issueMany(
  server: { url: string; rootPem: string },
  token: string,
  opts: { total: number; concurrency: number; csrs?: number },
): Promise<LoadResult> {
  const bodies = Array.from({ length: opts.csrs ?? 64 }, () => JSON.stringify({ csr: buildCsr().pem }));
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency, ca: server.rootPem });
  const serials: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${server.url}/v1/svids`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const user = async (): Promise<void> => {
    while (next < opts.total) {
      const i = next++;
      let r: { status: number; text: string };
      try {
        r = await one(bodies[i % bodies.length]!);
      } catch {
        r = { status: 0, text: '' };
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 201) serials.push((JSON.parse(r.text) as { serial: string }).serial);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, user));
  agent.destroy();
  return { serials, statuses };
}
