// The embedded ledger: PostgreSQL compiled to WebAssembly, in this process, on local files.
// Same SQL and migrations as production; no server to run.

import { PGlite } from '@electric-sql/pglite';
import type { SqlClient } from './sql.js';

export async function openEmbeddedLedger(dir: string): Promise<SqlClient> {
  const db = await PGlite.create(dir);
  return {
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await db.query<T>(sql, params)).rows }),
    exec: async (sql: string) => {
      await db.exec(sql);
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await tx.query<T>(sql, params)).rows }),
          exec: async (sql: string) => {
            await tx.exec(sql);
          },
        }),
      ),
    close: () => db.close(),
  };
}
