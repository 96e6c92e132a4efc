// `workload-ca worker`: the ledger writer process, with its own /metrics and /healthz over plain
// HTTP on a local port (it holds no keys and serves no clients).

import { createServer } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import client from 'prom-client';
import type { Config } from '../config/config.js';
import { startLedgerWorker } from '../audit/ledger-worker.js';
import { AUDIT_QUEUE } from '../audit/queue-names.js';
import { readBacklog, registerQueueGauges } from '../audit/queue-metrics.js';
import { migrate, readMigrations } from '../ledger/migrate.js';
import { openPostgresLedger } from '../ledger/postgres.js';
import { MIGRATIONS_DIR, modeOf } from './serve.js';

export async function runWorker(config: Config): Promise<void> {
  const mode = modeOf(config);
  if (mode.kind !== 'production') {
    throw new Error('the ledger worker needs DATABASE_URL and REDIS_URL; the embedded mode writes its ledger inside `serve`');
  }
  const db = openPostgresLedger(mode.databaseUrl, { max: config.worker.concurrency + 1, applicationName: 'workload-ca worker' });
  await migrate(db, readMigrations(MIGRATIONS_DIR));

  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'workload_ca_worker_' });
  const rows = new client.Counter({
    name: 'workload_ca_ledger_rows_written_total',
    help: 'Audit events written to the ledger (rate() gives rows per second).',
    registers: [registry],
  });
  const errors = new client.Counter({
    name: 'workload_ca_ledger_worker_errors_total',
    help: 'Failed ledger writes (retried with backoff).',
    registers: [registry],
  });
  const dead = new client.Counter({
    name: 'workload_ca_ledger_dead_letters_total',
    help: 'Malformed audit events moved to dead_letters.',
    registers: [registry],
  });

  const queueConnection = new Redis(mode.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  queueConnection.on('error', () => undefined);
  const queue = new Queue(AUDIT_QUEUE, { connection: queueConnection, prefix: config.redisPrefix, skipWaitingForReady: true });
  queue.on('error', () => undefined);
  registerQueueGauges(registry, () => readBacklog(queue));

  const worker = startLedgerWorker({
    redisUrl: mode.redisUrl,
    prefix: config.redisPrefix,
    db,
    concurrency: config.worker.concurrency,
    observer: {
      written: (n) => rows.inc(n),
      deadLettered: (n) => dead.inc(n),
      failed: (err) => {
        errors.inc();
        console.error(`ledger write failed (will retry): ${err.message}`);
      },
    },
  });

  const http = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(config.worker.metricsPort, config.worker.metricsHost, resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.worker.metricsPort;
  console.log(
    `ledger worker running (concurrency ${config.worker.concurrency}, prefix ${config.redisPrefix}); metrics on http://${config.worker.metricsHost}:${port}/metrics`,
  );

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Finish the jobs in hand (each completes only after its commit), then stop.
  await worker.close();
  http.close();
  await queue.close().catch(() => undefined);
  queueConnection.disconnect();
  await db.close();
}
