// The audit queue's backlog, as read from BullMQ and as exported to Prometheus. The API replicas
// and the ledger workers both export it, from the same definitions.

import type { Queue } from 'bullmq';
import client from 'prom-client';

export interface Backlog {
  /** Jobs not yet completed: waiting, delayed (retrying) and active. */
  readonly waiting: number;
  /** Age of the oldest job not yet written; 0 when there is none. */
  readonly oldestAgeSeconds: number;
}

export async function readBacklog(queue: Queue): Promise<Backlog> {
  const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
  const [oldest] = await queue.getJobs(['waiting', 'delayed'], 0, 0, true);
  return {
    waiting: Object.values(counts).reduce((a, b) => a + b, 0),
    oldestAgeSeconds: oldest ? (Date.now() - oldest.timestamp) / 1000 : 0,
  };
}

/**
 * Registers the two backlog gauges, read at scrape time (-1 when the queue cannot be read). One
 * read serves both gauges of a scrape. In a cluster every worker sees the same queue, so the
 * aggregate is the max, not the sum.
 */
export function registerQueueGauges(registry: client.Registry, backlog: () => Promise<Backlog>): void {
  let last: Promise<Backlog> | null = null;
  const read = (): Promise<Backlog> => (last ??= backlog().finally(() => setTimeout(() => (last = null), 100)));
  const gauge = (name: string, help: string, pick: (b: Backlog) => number): void => {
    new client.Gauge({
      name,
      help,
      registers: [registry],
      aggregator: 'max',
      async collect() {
        this.set(await read().then(pick, () => -1));
      },
    });
  };
  gauge('workload_ca_audit_queue_depth', 'Audit jobs (producer batches) not yet written to the ledger.', (b) => b.waiting);
  gauge('workload_ca_audit_queue_oldest_seconds', 'Age of the oldest audit event not yet in the ledger.', (b) => b.oldestAgeSeconds);
}
