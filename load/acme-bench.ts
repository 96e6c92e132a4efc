// `npm run bench:acme`: full ACME orders per second (newOrder → http-01 → finalize → download)
// with 1 and 64 concurrent clients. See `npm run bench:acme -- --help`.
//
// Each client is what certbot or lego is to the CA: its own account key and account, one
// keep-alive connection, nonces taken from the previous response, a real http-01 answer that the
// CA fetches over HTTP after resolving the name through DNS. Keys, CSRs and accounts are made
// before any clock starts; a warm-up second is not counted; sampled certificates are verified.

import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { RawAcmeClient, completeOrder, newAccountKey } from '../test/support/acme-client.js';
import { startEmbeddedServer, type EmbeddedServer } from './lib/embedded-server.js';
import { machineInfo, commandLine } from './lib/report.js';
import { ErrorCounter, summarizeLatencies, type ErrorTally } from '../test/support/stats.js';
import { acmeSampleProblem, createEab, startHttp01Responder, type AcmeSample, type Http01Responder } from '../test/support/scenarios/acme.js';
import { startDnsServer } from '../test/support/dns-server.js';
import { buildCsr, sanExtension, testKey } from '../test/support/csr.js';
import { freePort } from '../test/support/infra.js';

const USAGE = `usage: npm run bench:acme -- [--production] [--duration SECONDS] [--concurrency 1,64] [--workers N|auto]

Runs full ACME orders against a fresh server (embedded mode, or production mode with
Redis and Postgres on this machine) and prints orders/s and order latency per level.`;

const TD = 'bench.test';
const ADMIN = 'bench-admin-token';

interface Level {
  readonly concurrency: number;
  readonly orders: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latency: ReturnType<typeof summarizeLatencies>;
  readonly requestsPerOrder: number;
  readonly errors: ErrorTally;
  readonly verified: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      production: { type: 'boolean', default: false },
      duration: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '1,64' },
      workers: { type: 'string', default: 'auto' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const duration = Number(values.duration);
  const levels = values.concurrency!.split(',').map(Number);
  if (!(duration > 0) || levels.some((c) => !Number.isInteger(c) || c < 1)) {
    console.error(USAGE);
    return 2;
  }

  const dns = await startDnsServer();
  const responder = await startHttp01Responder(await freePort());
  const server: EmbeddedServer = await startEmbeddedServer({
    workers: values.workers === 'auto' ? 'auto' : Number(values.workers),
    trustDomain: TD,
    cpuProfDir: null,
    production: values.production!,
    env: {
      WORKLOAD_CA_ACME_HTTP01_PORT: String(responder.port),
      WORKLOAD_CA_ACME_RESOLVER: dns.address,
      // The responder is on loopback, which validation refuses unless it is allowed.
      WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '127.0.0.0/8',
      WORKLOAD_CA_ADMIN_TOKEN: ADMIN,
      // The bench orders far more per account than an hour's default allowance.
      WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR: '100000000',
    },
  });
  const machine = machineInfo();
  console.log(`# ACME bench: ${values.production ? 'production' : 'embedded'} mode, ${server.workers} serving process(es)`);
  console.log(`machine: ${JSON.stringify(machine)}`);
  console.log(`command: ${commandLine()}`);
  const results: Level[] = [];
  try {
    for (const concurrency of levels) results.push(await runLevel(server, concurrency, duration, responder));
  } finally {
    await server.stop();
    await responder.close();
    await dns.close();
  }
  console.log('\n| clients | orders/s | p50 ms | p95 ms | p99 ms | requests/order | errors | verified |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const l of results) {
    console.log(
      `| ${l.concurrency} | ${l.perSecond.toFixed(0)} | ${l.latency.p50.toFixed(1)} | ${l.latency.p95.toFixed(1)} | ${l.latency.p99.toFixed(1)} | ${l.requestsPerOrder.toFixed(1)} | ${l.errors.total} | ${l.verified} |`,
    );
    for (const e of l.errors.distinct) console.log(`  error ×${e.count}: ${e.message}`);
  }
  return results.every((l) => l.errors.total === 0 && l.verified > 0) ? 0 : 1;
}

async function runLevel(server: EmbeddedServer, concurrency: number, duration: number, responder: Http01Responder): Promise<Level> {
  // Enough prepared CSRs for a generous rate; a client that runs out simply stops.
  const perClient = Math.ceil(((duration + 2) * 1200) / concurrency) + 5;
  console.error(`c=${concurrency}: preparing ${concurrency} accounts and ${perClient * concurrency} CSRs…`);
  const directory = `${server.url.origin}/acme/directory`;
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const c = await new RawAcmeClient(directory, server.rootPem, await newAccountKey()).init();
      const eab = await createEab({ origin: server.url.origin, rootPem: server.rootPem, adminToken: ADMIN }, `b${i % 50}`);
      const r = await c.newAccount(eab);
      if (r.status !== 201) throw new Error(`newAccount: ${r.status} ${r.text}`);
      const jobs = Array.from({ length: perClient }, (_, k) => {
        const host = `h${k}-c${i}-${concurrency}.b${i % 50}.vm.${TD}`;
        const key = testKey('p256');
        return { host, binding: `b${i % 50}`, key: key.publicKey, der: buildCsr({ key, extensions: [sanExtension({ dns: [host] })] }).der };
      });
      return { c, jobs };
    }),
  );

  const errors = new ErrorCounter();
  const latencies: number[] = [];
  const samples: AcmeSample[] = [];
  let requests = 0;
  const warmupEnds = performance.now() + 1000;
  const ends = warmupEnds + duration * 1000;
  await Promise.all(
    clients.map(async ({ c, jobs }) => {
      for (const job of jobs) {
        const started = performance.now();
        if (started >= ends) return;
        try {
          const r = await completeOrder(c, [job.host], job.der, responder.publish, 10);
          const done = performance.now();
          if (started >= warmupEnds && done <= ends) {
            latencies.push(done - started);
            requests += r.requests;
            if (samples.length < 20 || Math.random() < 0.01)
              samples.push({ chainPem: r.chainPem, host: job.host, binding: job.binding, key: job.key });
          }
        } catch (err) {
          if (started >= warmupEnds) errors.add((err as Error).message.slice(0, 200));
        }
      }
    }),
  );
  for (const { c } of clients) await c.close();
  const root = new X509Certificate(server.rootPem);
  const verified = samples.filter((s) => acmeSampleProblem(s, root, TD) === null).length;
  if (verified !== samples.length) errors.add(`${samples.length - verified} sampled certificates failed verification`);
  const latency = summarizeLatencies(latencies);
  return {
    concurrency,
    orders: latencies.length,
    seconds: duration,
    perSecond: latencies.length / duration,
    latency,
    requestsPerOrder: latencies.length ? requests / latencies.length : 0,
    errors: errors.tally(),
    verified,
  };
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
