// The CLI's side of the admin API, for what only the running embedded server can do (it owns
// the embedded ledger, which one process at a time may open).

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Config } from '../config/config.js';
import { baseUrl } from './banner.js';
import { readAdminToken } from './replica.js';

export async function createEabKeyViaServer(config: Config, binding: string): Promise<{ keyId: string; hmacKey: string; binding: string }> {
  const token = readAdminToken(config);
  if (token === null) throw new Error('no admin credential: start the server once (it creates one) or set WORKLOAD_CA_ADMIN_TOKEN');
  const url = `${baseUrl(config)}/v1/admin/acme/eab-keys`;
  const body = JSON.stringify({ binding });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: readFileSync(config.ca.rootCert),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new Error(`cannot reach the server at ${url} (is \`workload-ca serve\` running?): ${err.message}`)));
    req.end(body);
  });
  if (status !== 201) {
    let detail = text;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
    } catch {
      /* not JSON: show it as it is */
    }
    throw new Error(`the server refused (${status}): ${detail}`);
  }
  return JSON.parse(text) as { keyId: string; hmacKey: string; binding: string };
}
