// Group commit for audit writes: events from concurrent requests are gathered while the previous
// write is in flight and then written together, one write at a time. Each caller's promise
// resolves with the receipt of the write that carried its event. Both the embedded ledger and
// the BullMQ producer batch this way.

import type { AuditEvent, AuditReceipt } from './event.js';

export type BatchWrite = (events: readonly AuditEvent[]) => Promise<AuditReceipt>;

interface Pending {
  event: AuditEvent;
  done: (r: AuditReceipt) => void;
}

export class WriteCoalescer {
  private pending: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly write: BatchWrite,
    private readonly maxBatch: number,
  ) {}

  add(event: AuditEvent): Promise<AuditReceipt> {
    return new Promise((done) => {
      this.pending.push({ event, done });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      const receipt = await this.write(batch.map((p) => p.event));
      for (const p of batch) p.done(receipt);
    }
    this.flushing = false;
  }

  /** Resolves once every event taken so far has its receipt. */
  async drained(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
  }
}
