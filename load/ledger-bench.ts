// `npm run bench:ledger`: the ledger worker's sustained write rate, Redis queue to Postgres.
//
// Fills a private queue (its own Redis key prefix) with audit events in producer-sized jobs, then
// starts `workload-ca worker` processes against a fresh database and times the drain from the
// first row to the last. Events are realistic: a real X509-SVID's DER, SANs, requester JSON.
// Needs the machine's Redis and Postgres (REDIS_URL, TEST_PG_URL or the 127.0.0.1 defaults).

import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AUDIT_JOB_OPTIONS } from '../src/audit/bullmq-sink.js';
import type { IssuedEvent } from '../src/audit/event.js';
import { AUDIT_QUEUE } from '../src/audit/queue-names.js';
import { createDatabase } from '../test/support/infra.js';
import { startCli } from '../test/support/server.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    'batch-size': { type: 'string', default: '100' },
    workers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
  },
});
const total = Number(values.events);
const batch = Number(values['batch-size']);
const workerCount = Number(values.workers);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `wlca-ledger-bench-${randomBytes(4).toString('hex')}`;

function event(): IssuedEvent {
  const now = new Date();
  return {
    v: 1,
    kind: 'issued',
    id: randomUUID(),
    path: 'api',
    requester: {
      kind: 'token',
      issuer: 'https://kubernetes.default.svc',
      subject: 'system:serviceaccount:shop:cart',
      claims: { sub: 'system:serviceaccount:shop:cart' },
    },
    policyHash: `sha256:${'ab'.repeat(32)}`,
    rule: 'kubernetes-service-accounts',
    csrSha256: randomBytes(32).toString('hex'),
    at: now.toISOString(),
    serial: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '4'),
    issuerKeyId: 'ab'.repeat(20),
    spiffeId: 'spiffe://example.org/ns/shop/sa/cart',
    dnsNames: [],
    ipAddresses: [],
    notBefore: now.toISOString(),
    notAfter: new Date(now.getTime() + 3600e3).toISOString(),
    // A real leaf is about 520 bytes of DER.
    certificate: randomBytes(520).toString('base64'),
  };
}

const db = await createDatabase();
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(AUDIT_QUEUE, { connection, prefix, defaultJobOptions: AUDIT_JOB_OPTIONS });
const workers: Awaited<ReturnType<typeof startCli>>[] = [];
try {
  console.error(`queueing ${total} events in jobs of ${batch}…`);
  for (let i = 0; i < total; i += batch * 50) {
    const jobs = [];
    for (let j = i; j < Math.min(i + batch * 50, total); j += batch) {
      jobs.push({ name: 'events', data: { events: Array.from({ length: Math.min(batch, total - j) }, event) } });
    }
    await queue.addBulk(jobs);
  }
  const env = {
    DATABASE_URL: db.url(),
    REDIS_URL: redisUrl,
    WORKLOAD_CA_REDIS_PREFIX: prefix,
    WORKLOAD_CA_WORKER_CONCURRENCY: String(values.concurrency),
    WORKLOAD_CA_WORKER_METRICS_PORT: '0',
  };
  // Migrate first so the timed part is only the drain.
  await (await startCli(['migrate'], env, /applied|up to date/)).stop();
  const started = performance.now();
  for (let w = 0; w < workerCount; w++) workers.push(await startCli(['worker'], env, /ledger worker running/));
  let first = 0;
  let written = 0;
  while (written < total) {
    await new Promise((r) => setTimeout(r, 100));
    written = await db.count('certificates');
    if (written > 0 && first === 0) first = performance.now();
  }
  const end = performance.now();
  const seconds = (end - first) / 1000;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(
    `command: npm run bench:ledger -- --events ${total} --batch-size ${batch} --workers ${workerCount} --concurrency ${values.concurrency}`,
  );
  console.log(`| events | job size | workers × concurrency | first row → last row | events/s | start-up to first row |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  console.log(
    `| ${total} | ${batch} | ${workerCount} × ${values.concurrency} | ${seconds.toFixed(2)} s | ${Math.round(total / seconds)} | ${((first - started) / 1000).toFixed(2)} s |`,
  );
} finally {
  for (const w of workers) await w.stop();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  connection.disconnect();
  await db.drop();
}
