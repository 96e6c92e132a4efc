// Revoking a certificate the way its holder can (ACME revokeCert signed with the certificate's
// own key, RFC 8555 §7.6) and watching what a revoked certificate can still do.

import { X509Certificate, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';
import { exportJWK } from 'jose';
import { RawAcmeClient } from './acme-client.js';
import { https, type TestServer } from './server.js';

/** revokeCert with the certificate's own key, through the server at `url`; the HTTP status. */
export async function revokeWithOwnKey(
  server: Pick<TestServer, 'url' | 'rootPem'>,
  certificatePem: string,
  key: KeyObject,
  reason = 1,
): Promise<number> {
  const full = await exportJWK(key);
  const client = new RawAcmeClient(`${server.url}/acme/directory`, server.rootPem, {
    privateKey: key,
    jwk: { kty: 'EC', crv: 'P-256', x: full.x!, y: full.y! },
    alg: 'ES256',
    thumbprint: '',
  });
  try {
    await client.init();
    const der = new X509Certificate(certificatePem).raw.toString('base64url');
    const res = await client.post(client.directory.revokeCert!, { certificate: der, reason }, { useJwk: true });
    return res.status;
  } finally {
    await client.close();
  }
}

export interface KeptAlive {
  /** `socket` is the client's local port: equal ports, one connection. */
  post(path: string, body: string | Buffer, contentType: string): Promise<{ status: number; body: string; socket: number }>;
  close(): void;
}

/** Requests with a client certificate over one keep-alive TLS connection. */
export function renewOverKeepAlive(server: Pick<TestServer, 'url' | 'rootPem'>, tls: { cert: string; key: string }): KeptAlive {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: server.rootPem, cert: tls.cert, key: tls.key });
  return {
    post: (path, body, contentType) =>
      new Promise((resolve, reject) => {
        const req = request(`${server.url}${path}`, { method: 'POST', agent, headers: { 'content-type': contentType } }, (res) => {
          // Read now: once the body ends, the agent takes the socket back.
          const socket = res.socket.localPort!;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), socket }));
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** How many recent denials refused the certificate with this serial as revoked. */
export async function revokedDenials(server: Pick<TestServer, 'url' | 'rootPem'>, headers: Record<string, string>, serial: string): Promise<number> {
  const r = await https(server, 'GET', '/v1/admin/denials?limit=100', { headers });
  if (r.status !== 200) throw new Error(`denials: ${r.status} ${r.body}`);
  const items = r.json<{ items: { reason: string; requester_id: string | null; code: string }[] }>().items;
  return items.filter((d) => d.code === 'unauthenticated' && /revoked/.test(d.reason) && (d.requester_id ?? '').includes(serial)).length;
}
