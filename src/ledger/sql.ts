// The one thing the ledger needs from a database: run SQL with parameters, and transactions.
// Both pg (production) and PGlite (embedded) fit behind it, so migrations and writes are shared.

export interface SqlRows<T> {
  readonly rows: T[];
}

export interface SqlClient {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlRows<T>>;
  /** Runs a multi-statement script without parameters. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection; commits when it resolves. */
  transaction<T>(fn: (tx: Pick<SqlClient, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
