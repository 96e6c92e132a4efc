// Real Postgres and Redis for the tests: a fresh database per suite on the machine's Postgres,
// a private redis-server per suite on a free port (so a test can stop and restart it), and a TCP
// relay in front of Postgres so a test can make the database unreachable and bring it back.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface TestDatabase {
  readonly name: string;
  /** A URL for this database through the given host:port (the relay, or Postgres itself). */
  url(port?: number): string;
  count(table: string): Promise<number>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createDatabase(): Promise<TestDatabase> {
  const name = `wlca_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const base = new URL(PG_ADMIN_URL);
  const url = (port?: number): string => {
    const u = new URL(base);
    u.pathname = `/${name}`;
    if (port !== undefined) u.port = String(port);
    return u.toString();
  };
  const pool = new pg.Pool({ connectionString: url(), max: 2 });
  // An idle pooled connection that the server ends (DROP ... WITH (FORCE), a restart) is reported
  // on the pool; queries in flight still fail on their own, so this only keeps the process alive.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    async count(table) {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
      return rows[0].n as number;
    },
    async query(sql, params) {
      return (await pool.query(sql, params)).rows;
    },
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A private, non-persistent redis-server on a free port. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      });
    },
  };
}

export interface Relay {
  readonly port: number;
  /** Connections accepted so far, per target (in the order the targets were given). */
  readonly connections: readonly number[];
  /** Refuses new connections and drops open ones: the database is unreachable. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay to a real server; cutting it is a network outage between client and server. With
 * several targets it is a round-robin load balancer (per connection), as a layer-4 one would be.
 */
export async function startRelay(targets: number | readonly number[]): Promise<Relay> {
  const ports = typeof targets === 'number' ? [targets] : [...targets];
  const connections = ports.map(() => 0);
  let next = 0;
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const i = next++ % ports.length;
      connections[i]!++;
      const upstream = connect(ports[i]!, '127.0.0.1');
      sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
  };
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    const s = server;
    server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return { port, connections, cut: stop, restore: listen, close: stop };
}
