// Audit events across node:cluster's IPC channel: workers serve HTTPS, the primary owns the one
// embedded ledger. A worker batches the events of one event-loop turn into one message, and each
// request's promise resolves when the primary reports its batch committed.

import type { Worker } from 'node:cluster';
import type { AuditEvent, AuditReceipt, AuditSink } from './event.js';

interface AuditBatchMessage {
  readonly t: 'audit';
  readonly id: number;
  readonly events: readonly AuditEvent[];
}

interface AuditAckMessage {
  readonly t: 'audit-ack';
  readonly id: number;
  readonly receipts: readonly AuditReceipt[];
}

/** How long a worker waits for the primary before answering 503. */
const ACK_TIMEOUT_MS = 5_000;

export class IpcAuditSink implements AuditSink {
  private nextId = 1;
  private pending: { event: AuditEvent; done: (r: AuditReceipt) => void }[] = [];
  private readonly waiting = new Map<number, { done: ((r: AuditReceipt) => void)[]; timer: NodeJS.Timeout }>();
  private readonly onMessage = (msg: unknown): void => {
    const m = msg as Partial<AuditAckMessage>;
    if (m?.t !== 'audit-ack' || typeof m.id !== 'number') return;
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    w.done.forEach((done, i) => done(m.receipts?.[i] ?? { ok: false, reason: 'no receipt', retryAfterSeconds: 1 }));
  };

  constructor(private readonly channel: NodeJS.Process = process) {
    channel.on('message', this.onMessage);
  }

  record(event: AuditEvent): Promise<AuditReceipt> {
    if (!this.channel.connected) {
      return Promise.resolve({ ok: false, reason: 'ledger process is not connected', retryAfterSeconds: 1 });
    }
    return new Promise((done) => {
      this.pending.push({ event, done });
      if (this.pending.length === 1) setImmediate(() => this.send());
    });
  }

  private send(): void {
    const batch = this.pending;
    this.pending = [];
    const id = this.nextId++;
    const done = batch.map((p) => p.done);
    const timer = setTimeout(() => {
      this.waiting.delete(id);
      for (const d of done) d({ ok: false, reason: 'ledger did not confirm in time', retryAfterSeconds: 1 });
    }, ACK_TIMEOUT_MS);
    this.waiting.set(id, { done, timer });
    const message: AuditBatchMessage = { t: 'audit', id, events: batch.map((p) => p.event) };
    this.channel.send!(message);
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    return this.channel.connected ? { ok: true, detail: 'embedded ledger via primary' } : { ok: false, detail: 'primary disconnected' };
  }

  async close(): Promise<void> {
    this.channel.off('message', this.onMessage);
  }
}

/** Primary side: feeds each worker's batches into the real sink and answers with receipts. */
export function serveAuditOverIpc(worker: Worker, sink: AuditSink): void {
  worker.on('message', (msg: Partial<AuditBatchMessage>) => {
    if (msg?.t !== 'audit' || !Array.isArray(msg.events)) return;
    void Promise.all(msg.events.map((e) => sink.record(e))).then((receipts) => {
      if (worker.isConnected()) worker.send({ t: 'audit-ack', id: msg.id as number, receipts } satisfies AuditAckMessage);
    });
  });
}
