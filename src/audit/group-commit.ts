// The embedded audit sink: events are group-committed into the embedded ledger, and each
// caller's promise resolves after its batch commits, so the API replies only once its event is in
// the ledger.

import { WriteCoalescer } from './coalescer.js';
import type { AuditEvent, AuditReceipt, AuditSink } from './event.js';

export type BatchWriter = (events: readonly AuditEvent[]) => Promise<void>;

export class GroupCommitSink implements AuditSink {
  private readonly batches: WriteCoalescer;
  private closed = false;

  constructor(write: BatchWriter, maxBatch = 1000) {
    this.batches = new WriteCoalescer(async (events) => {
      try {
        await write(events);
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: (err as Error).message, retryAfterSeconds: 1 };
      }
    }, maxBatch);
  }

  record(event: AuditEvent): Promise<AuditReceipt> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'audit queue is shutting down', retryAfterSeconds: 1 });
    return this.batches.add(event);
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    return this.closed ? { ok: false, detail: 'shutting down' } : { ok: true, detail: 'embedded ledger' };
  }

  /** Stops taking events and waits for the ones already taken. */
  async close(): Promise<void> {
    this.closed = true;
    await this.batches.drained();
  }
}
