// An ACME test bench: the CA (real CLI) whose validation resolves names through a test DNS server
// and connects to spare local ports, an http-01 responder for the raw client, and EAB keys.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { RawAcmeClient, newAccountKey } from './acme-client.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { freePort } from './infra.js';
import { https, startServer, type TestServer } from './server.js';

export interface AcmeBench {
  readonly server: TestServer;
  readonly dns: DnsServer;
  readonly directoryUrl: string;
  /** Port the CA validates http-01 on; the bench's own responder listens there. */
  readonly http01Port: number;
  readonly tlsAlpn01Port: number;
  /** Key authorizations the responder serves, by token. */
  readonly tokens: Map<string, string>;
  /** Tokens the responder answers with a 302 to this URL instead. */
  readonly redirects: Map<string, string>;
  /** Tokens the responder answers only after this many milliseconds. */
  readonly delays: Map<string, number>;
  /** Connections the responder has accepted so far. */
  connections(): number;
  readonly adminToken: string;
  eab(binding: string): Promise<{ keyId: string; hmacKey: string }>;
  /** The same, with `workload-ca acme eab create`. */
  eabViaCli(binding: string): Promise<{ keyId: string; hmacKey: string }>;
  /** A raw client with a fresh key and an account bound to `binding`. */
  client(binding?: string, alg?: 'ES256' | 'RS256'): Promise<RawAcmeClient>;
  /** Stops the responder, freeing the http-01 port for a real client (certbot, lego). */
  pauseResponder(): Promise<void>;
  resumeResponder(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAcmeBench(opts: { workers?: number; env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<AcmeBench> {
  const dns = await startDnsServer();
  const http01Port = await freePort();
  const tlsAlpn01Port = await freePort();
  const tokens = new Map<string, string>();
  const redirects = new Map<string, string>();
  const delays = new Map<string, number>();
  let connections = 0;
  let responder: Server | null = null;
  const listen = async (): Promise<void> => {
    responder = createServer((req, res) => {
      const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      const location = m ? redirects.get(m[1]!) : undefined;
      if (location !== undefined) return res.writeHead(302, { location }).end();
      const ka = m ? tokens.get(m[1]!) : undefined;
      if (ka === undefined) return res.writeHead(404).end('no such token');
      const answer = (): void => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(ka);
      const delay = delays.get(m![1]!);
      if (delay === undefined) answer();
      else setTimeout(answer, delay);
    });
    responder.on('connection', () => connections++);
    await new Promise<void>((r) => responder!.listen(http01Port, '127.0.0.1', r));
  };
  await listen();
  const server = await startServer({
    workers: opts.workers ?? 1,
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    env: {
      WORKLOAD_CA_ACME_HTTP01_PORT: String(http01Port),
      WORKLOAD_CA_ACME_TLSALPN01_PORT: String(tlsAlpn01Port),
      WORKLOAD_CA_ACME_RESOLVER: dns.address,
      // The responders live on loopback, which validation refuses unless it is allowed.
      WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '127.0.0.0/8,::1',
      ...opts.env,
    },
  });
  const directoryUrl = `${server.url}/acme/directory`;
  const adminToken = readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim();
  // Through the admin API: the CLI does the same (its own test is below), at a second per call.
  const eab = async (binding: string): Promise<{ keyId: string; hmacKey: string }> => {
    const r = await https(server, 'POST', '/v1/admin/acme/eab-keys', {
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ binding }),
    });
    if (r.status !== 201) throw new Error(`eab create failed: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as { keyId: string; hmacKey: string };
  };
  const eabViaCli = async (binding: string): Promise<{ keyId: string; hmacKey: string }> => {
    const r = await server.cli(['acme', 'eab', 'create', '--binding', binding]);
    const keyId = /key id:\s+(\S+)/.exec(r.stdout)?.[1];
    const hmacKey = /hmac key:\s+(\S+)/.exec(r.stdout)?.[1];
    if (!keyId || !hmacKey) throw new Error(`eab create failed: ${r.stdout}${r.stderr}`);
    return { keyId, hmacKey };
  };
  const clients: RawAcmeClient[] = [];
  return {
    server,
    dns,
    directoryUrl,
    http01Port,
    tlsAlpn01Port,
    tokens,
    redirects,
    delays,
    connections: () => connections,
    adminToken,
    eab,
    eabViaCli,
    async client(binding = 'web', alg: 'ES256' | 'RS256' = 'ES256') {
      const c = await new RawAcmeClient(directoryUrl, server.rootPem, await newAccountKey(alg)).init();
      clients.push(c);
      const r = await c.newAccount(await eab(binding));
      if (r.status !== 201) throw new Error(`newAccount: ${r.status} ${r.text}`);
      return c;
    },
    async pauseResponder() {
      await new Promise((r) => responder?.close(r));
      responder = null;
    },
    async resumeResponder() {
      if (responder === null) await listen();
    },
    async stop() {
      for (const c of clients) await c.close();
      await new Promise((r) => (responder ? responder.close(r) : r(undefined)));
      await server.stop();
      await dns.close();
    },
  };
}
