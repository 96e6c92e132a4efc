// Audit events across the cluster channel: workers serve HTTPS, the primary owns the one embedded
// ledger. A worker batches the events of one event-loop turn into one call, and each request's
// promise resolves when the primary reports its batch committed.

import type { Worker } from 'node:cluster';
import { rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import type { AuditEvent, AuditReceipt, AuditSink } from './event.js';

/** What the primary offers its workers. */
interface AuditService {
  recordBatch(events: readonly AuditEvent[]): Promise<readonly AuditReceipt[]>;
}

const SERVICE = 'audit';
const METHODS = ['recordBatch'] as const;
/** How long a worker waits for the primary before answering 503. */
const ACK_TIMEOUT_MS = 5_000;

export class IpcAuditSink implements AuditSink {
  private pending: { event: AuditEvent; done: (r: AuditReceipt) => void }[] = [];
  private readonly primary: AuditService;

  constructor(private readonly channel: NodeJS.Process = process) {
    this.primary = rpcClient<AuditService, typeof METHODS>(SERVICE, METHODS, { channel, timeoutMs: ACK_TIMEOUT_MS });
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
    this.primary.recordBatch(batch.map((p) => p.event)).then(
      (receipts) => batch.forEach((p, i) => p.done(receipts[i] ?? { ok: false, reason: 'no receipt', retryAfterSeconds: 1 })),
      (err: Error) => batch.forEach((p) => p.done({ ok: false, reason: err.message, retryAfterSeconds: 1 })),
    );
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    return this.channel.connected ? { ok: true, detail: 'embedded ledger via primary' } : { ok: false, detail: 'primary disconnected' };
  }

  async close(): Promise<void> {}
}

/** Primary side: feeds each worker's batches into the real sink and answers with receipts. */
export function serveAuditOverIpc(worker: Worker, sink: AuditSink): void {
  const service: AuditService = { recordBatch: (events) => Promise.all(events.map((e) => sink.record(e))) };
  serveRpc<AuditService, typeof METHODS>(worker, SERVICE, service, METHODS);
}
