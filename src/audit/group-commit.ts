// The embedded audit queue: events from concurrent requests are gathered while the previous
// batch commits, then written together. Each caller's promise resolves after its batch commits,
// so the API replies only once its event is in the ledger.

import type { AuditEvent, AuditReceipt, AuditSink } from './event.js';

export type BatchWriter = (events: readonly AuditEvent[]) => Promise<void>;

interface Pending {
  event: AuditEvent;
  done: (r: AuditReceipt) => void;
}

export class GroupCommitSink implements AuditSink {
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;

  constructor(private readonly write: BatchWriter, private readonly maxBatch = 1000) {}

  record(event: AuditEvent): Promise<AuditReceipt> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'audit queue is shutting down', retryAfterSeconds: 1 });
    return new Promise((done) => {
      this.queue.push({ event, done });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let receipt: AuditReceipt;
      try {
        await this.write(batch.map((p) => p.event));
        receipt = { ok: true };
      } catch (err) {
        receipt = { ok: false, reason: (err as Error).message, retryAfterSeconds: 1 };
      }
      for (const p of batch) p.done(receipt);
    }
    this.flushing = false;
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    return this.closed ? { ok: false, detail: 'shutting down' } : { ok: true, detail: 'embedded ledger' };
  }

  /** Stops taking events and waits for the ones already taken. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
  }
}
