// The production ledger: PostgreSQL through a pg connection pool.

import pg from 'pg';
import type { SqlClient } from './sql.js';

// Timestamps come back as ISO strings and bigints as strings, so values cross IPC and JSON
// unchanged whichever database answered (PGlite returns Date objects; both are normalised by the
// readers that need it).
export function openPostgresLedger(url: string, opts: { max?: number; applicationName?: string } = {}): SqlClient {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'workload-ca',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (Postgres restarted) must not crash the process; the
  // pool replaces it, and the next query reports the outage to its caller.
  pool.on('error', () => undefined);
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) => ({
    rows: (await client.query(sql, params as unknown[])).rows as T[],
  });
  return {
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        // A connection that could not even roll back is dropped rather than reused.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
