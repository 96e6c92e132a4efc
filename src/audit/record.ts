// Turns a batch of audit events (as received, untrusted) into ledger rows, and never lets one bad
// event hold the others back: events that fail the shape check, or that Postgres refuses as data,
// go to dead_letters with the reason; everything else is written. Only a failure to reach the
// database propagates, so the caller retries the whole batch later.

import type { SqlClient } from '../ledger/sql.js';
import { writeEvents } from '../ledger/writer.js';
import type { AuditEvent } from './event.js';
import { checkEvent } from './validate.js';

interface DeadLetter {
  readonly event: unknown;
  readonly reason: string;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): the same write can never succeed. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

function deadLetterWriter(source: string, dead: readonly DeadLetter[]) {
  return async (tx: Pick<SqlClient, 'query'>): Promise<void> => {
    for (const d of dead) {
      // JSON.stringify escapes NUL and lone surrogates, so the text column always takes it.
      await tx.query('INSERT INTO dead_letters (source, event, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        source,
        JSON.stringify(d.event ?? null),
        d.reason,
      ]);
    }
  };
}

export async function recordEvents(db: SqlClient, source: string, values: readonly unknown[]): Promise<{ written: number; dead: number }> {
  const good: AuditEvent[] = [];
  const dead: DeadLetter[] = [];
  for (const value of values) {
    const checked = checkEvent(value);
    if (checked.ok) good.push(checked.event);
    else dead.push({ event: value, reason: checked.reason });
  }
  try {
    await writeEvents(db, good, dead.length > 0 ? deadLetterWriter(source, dead) : undefined);
    return { written: good.length, dead: dead.length };
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  // Something in the batch is data Postgres will never take: find it event by event.
  const written: AuditEvent[] = [];
  for (const event of good) {
    try {
      await writeEvents(db, [event]);
      written.push(event);
    } catch (err) {
      if (!isDataError(err)) throw err;
      dead.push({ event, reason: `ledger refused the event: ${(err as Error).message}` });
    }
  }
  await db.transaction(deadLetterWriter(source, dead));
  return { written: written.length, dead: dead.length };
}
