// The embedded ledger: PostgreSQL compiled to WebAssembly, in this process, on local files.
// Same SQL and migrations as production; no server to run.

import { PGlite } from '@electric-sql/pglite';
import { tightenDataDir } from '../files/private-data.js';
import type { SqlClient } from './sql.js';

export async function openEmbeddedLedger(dir: string): Promise<SqlClient> {
  // On Node, PGlite's NODEFS writes every page straight through to the file (synchronous write
  // calls) and its syncToFs is a no-op; `relaxedDurability` only stops each query from waiting on
  // that no-op behind a mutex. A commit is in the operating system's files when it resolves
  // either way; the option saves about a fifth of the per-statement cost.
  const db = await PGlite.create(dir, { relaxedDurability: true });
  // A new database is unpacked with files chmod-ed to 0666, umask or not; Postgres's own later
  // files are 0600. The ledger holds the EAB HMAC keys, so make the unpacked ones private too.
  // (What cannot be changed is reported by serve's start-up check of the data directory.)
  tightenDataDir(dir);
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
