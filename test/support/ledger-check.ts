// "Every certificate any client received is in the ledger": the serials the load tool collected
// are looked up in the Postgres ledger until all are there. The time that takes after the load
// stops is the ledger's lag; what is still missing at the deadline is a lost audit record.

import { normalizeSerial } from './scenarios/scenario.js';

export interface LedgerCheck {
  readonly received: number;
  readonly rows: number;
  /** Seconds after the load stopped until every received serial was in the ledger; null if never. */
  readonly lagSeconds: number | null;
  readonly missing: readonly string[];
}

export async function awaitLedger(
  received: readonly string[],
  ledgerSerials: () => Promise<string[]>,
  stoppedAt: number,
  timeoutMs = 60_000,
): Promise<LedgerCheck> {
  const wanted = new Set(received.map(normalizeSerial));
  for (;;) {
    const rows = await ledgerSerials();
    const present = new Set(rows.map(normalizeSerial));
    const missing = [...wanted].filter((s) => !present.has(s));
    const elapsed = performance.now() - stoppedAt;
    if (missing.length === 0) return { received: wanted.size, rows: rows.length, lagSeconds: elapsed / 1000, missing };
    if (elapsed > timeoutMs) return { received: wanted.size, rows: rows.length, lagSeconds: null, missing: missing.slice(0, 10) };
    await new Promise((r) => setTimeout(r, 250));
  }
}
