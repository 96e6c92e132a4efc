// `workload-ca worker`: drains the audit queue into the Postgres ledger.
//
// Each job holds one producer batch. The worker writes the batch in one transaction (certificates
// and denials with ON CONFLICT DO NOTHING, malformed events to dead_letters) and completes the
// job only after COMMIT. A crash before that leaves the job to be re-delivered, and the conflict
// clauses make the replay a no-op for rows already written. Several workers may run at once.

import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { SqlClient } from '../ledger/sql.js';
import { AUDIT_QUEUE, type AuditJobData } from './queue-names.js';
import { recordEvents } from './record.js';

export interface LedgerWorkerOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly db: SqlClient;
  /** Jobs processed at once; each is one transaction. */
  readonly concurrency?: number;
  readonly observer?: LedgerWorkerObserver;
}

export interface LedgerWorkerObserver {
  written(rows: number): void;
  deadLettered(count: number): void;
  failed(err: Error): void;
}

const noObserver: LedgerWorkerObserver = { written() {}, deadLettered() {}, failed() {} };

export interface LedgerWorker {
  close(): Promise<void>;
}

/** Writes one job's events; malformed ones go to dead_letters (see recordEvents). */
export function writeJob(db: SqlClient, jobId: string, data: unknown): Promise<{ written: number; dead: number }> {
  const events = (data as AuditJobData | null)?.events;
  return recordEvents(db, `job:${jobId}`, Array.isArray(events) ? events : [data]);
}

export function startLedgerWorker(opts: LedgerWorkerOptions): LedgerWorker {
  const observer = opts.observer ?? noObserver;
  // BullMQ workers block on Redis; they need retries without limit and the offline queue.
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
  connection.on('error', () => undefined);
  const worker = new Worker<AuditJobData>(
    AUDIT_QUEUE,
    async (job: Job<AuditJobData>) => {
      const r = await writeJob(opts.db, job.id ?? 'unknown', job.data);
      observer.written(r.written);
      if (r.dead > 0) observer.deadLettered(r.dead);
    },
    {
      connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 8,
      // Ledger writes are idempotent, so a job whose worker died is safely re-delivered; a short
      // lock gets it re-delivered within seconds rather than BullMQ's default half-minute.
      maxStalledCount: 1_000_000,
      lockDuration: 10_000,
      stalledInterval: 5_000,
      settings: { backoffStrategy: (attempts: number) => Math.min(250 * 2 ** Math.min(attempts, 10), 15_000) },
    },
  );
  worker.on('failed', (_job, err) => observer.failed(err));
  worker.on('error', (err) => observer.failed(err));
  return {
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}
