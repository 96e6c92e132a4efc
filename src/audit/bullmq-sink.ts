// The production audit sink: events go to a BullMQ queue on Redis, and a certificate is released
// only after Redis has acknowledged the job that carries its event.
//
// Events of concurrent requests are gathered while the previous write is in flight and sent as
// one job in one round trip, so the queue never limits issuance. A write that Redis has not
// acknowledged within the bound fails every request in it with 503; those certificates are
// dropped, never sent. (If Redis applied the write after all, the ledger holds a record of a
// certificate nobody received, which is the safe direction.)

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { WriteCoalescer } from './coalescer.js';
import type { AuditEvent, AuditReceipt, AuditSink } from './event.js';
import { AUDIT_QUEUE, type AuditJobData } from './queue-names.js';
import { readBacklog, type Backlog } from './queue-metrics.js';

export interface BullMqSinkOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  /** How long a request may wait for Redis before it fails with 503 (at most 1 s). */
  readonly ackTimeoutMs?: number;
  /** Events per job. */
  readonly maxBatch?: number;
}

/** Job options: retried with backoff by the worker until Postgres takes it; failed jobs are kept. */
export const AUDIT_JOB_OPTIONS = {
  attempts: 1_000_000,
  // Exponential but capped (the worker defines it): a long Postgres outage must not push retries hours out.
  backoff: { type: 'capped-exponential' },
  removeOnComplete: { count: 1000 },
  removeOnFail: false,
} as const;

export class BullMqAuditSink implements AuditSink {
  private readonly connection: Redis;
  /** Made on the first `ready`: BullMQ caches a failed initialisation on a connection that was not up. */
  private queue: Queue<AuditJobData> | null = null;
  private readonly ackTimeoutMs: number;
  private readonly batches: WriteCoalescer;
  private closed = false;

  constructor(opts: BullMqSinkOptions) {
    this.ackTimeoutMs = Math.min(opts.ackTimeoutMs ?? 1000, 1000);
    this.batches = new WriteCoalescer((events) => this.write(events), opts.maxBatch ?? 500);
    // No offline queue: while Redis is down a write fails at once (503) instead of waiting.
    // ioredis keeps reconnecting in the background, so issuance resumes when Redis returns.
    this.connection = new Redis(opts.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: false,
    });
    this.connection.on('error', () => undefined); // reported through failed writes and /readyz
    this.connection.once('ready', () => {
      this.queue = new Queue<AuditJobData>(AUDIT_QUEUE, {
        connection: this.connection,
        prefix: opts.prefix,
        defaultJobOptions: AUDIT_JOB_OPTIONS,
      });
      this.queue.on('error', () => undefined);
    });
  }

  record(event: AuditEvent): Promise<AuditReceipt> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'audit queue is shutting down', retryAfterSeconds: 1 });
    if (this.connection.status !== 'ready' || this.queue === null) {
      return Promise.resolve({ ok: false, reason: `Redis is ${this.connection.status}`, retryAfterSeconds: 1 });
    }
    // One job in flight at a time per process: requests arriving meanwhile ride in the next one.
    return this.batches.add(event);
  }

  private async write(events: readonly AuditEvent[]): Promise<AuditReceipt> {
    const queue = this.queue;
    if (queue === null) return { ok: false, reason: 'Redis is not connected', retryAfterSeconds: 1 };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<AuditReceipt>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: `Redis did not acknowledge within ${this.ackTimeoutMs} ms`, retryAfterSeconds: 1 }),
        this.ackTimeoutMs,
      );
    });
    const add = queue.add('events', { events: [...events] }).then(
      (): AuditReceipt => ({ ok: true }),
      (err: Error): AuditReceipt => ({ ok: false, reason: `Redis refused the event: ${err.message}`, retryAfterSeconds: 1 }),
    );
    try {
      return await Promise.race([add, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    if (this.connection.status !== 'ready') return { ok: false, detail: `Redis is ${this.connection.status}` };
    try {
      await this.connection.ping();
      return { ok: true, detail: 'Redis audit queue' };
    } catch (err) {
      return { ok: false, detail: `Redis: ${(err as Error).message}` };
    }
  }

  /** Queue depth and the age of the oldest waiting job, for metrics. */
  backlog(): Promise<Backlog> {
    return this.queue === null ? Promise.reject(new Error('Redis is not connected')) : readBacklog(this.queue);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.batches.drained();
    await this.queue?.close().catch(() => undefined);
    this.connection.disconnect();
  }
}
