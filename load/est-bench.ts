// `npm run bench:est`: EST simpleenroll per second with TLS client authentication, the way edge
// gateways use it: each virtual user is a gateway holding one kept-alive TLS connection with its
// factory certificate, enrolling device CSRs for its fleet in a closed loop (send, read the whole
// reply, send the next). Everything is prepared before any clock starts: the manufacturer PKI,
// the CA's configuration, and the device keys and CSRs. After each level a sample of the
// certificates is checked (openssl reads the PKCS#7; chain, SAN and key are compared).
//
//   npm run bench:est -- [--duration S] [--warmup S] [--concurrency 1,64] [--gateways N] [--csrs N]
//                        [--verify N] [--workers N|auto] [--json FILE]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { cpuBetween, cpuSnapshot, type CpuUse } from './lib/cpu.js';
import { startEmbeddedServer } from './lib/embedded-server.js';
import {
  LABEL,
  TRUST_DOMAIN,
  prepareRequests,
  prepareWorld,
  verifySamples,
  type EstRequest,
  type Gateway,
  type Verification,
} from '../test/support/est-workload.js';
import { commandLine, machineInfo } from './lib/report.js';
import { ErrorCounter, Reservoir, summarizeLatencies, type ErrorTally, type LatencySummary } from '../test/support/stats.js';

interface Options {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly concurrency: readonly number[];
  readonly gateways: number;
  readonly csrs: number;
  readonly verify: number;
  readonly workers: number | 'auto';
  readonly jsonFile: string | null;
}

interface LevelResult {
  readonly concurrency: number;
  readonly enrolled: number;
  readonly perSecond: number;
  readonly latencyMs: LatencySummary;
  readonly errors: ErrorTally;
  readonly cpu: CpuUse | null;
  readonly verification: Verification;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '1,64' },
      gateways: { type: 'string', default: '8' },
      csrs: { type: 'string', default: '512' },
      verify: { type: 'string', default: '20' },
      workers: { type: 'string', default: 'auto' },
      json: { type: 'string' },
    },
  });
  const positive = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
    return n;
  };
  return {
    durationSeconds: positive('duration', values.duration!),
    warmupSeconds: Number(values.warmup),
    concurrency: values.concurrency!.split(',').map((c) => positive('concurrency', c)),
    gateways: positive('gateways', values.gateways!),
    csrs: positive('csrs', values.csrs!),
    verify: Number(values.verify),
    workers: values.workers === 'auto' ? 'auto' : positive('workers', values.workers!),
    jsonFile: values.json ?? null,
  };
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'wlca-est-bench-'));
  console.error(`preparing a manufacturer root, ${opts.gateways} gateway certificates and ${opts.csrs} device CSRs…`);
  const world = prepareWorld(dir, opts.gateways);
  const requests = prepareRequests(opts.csrs, world.gateways);
  // The server reads its EST labels and policy from this file (the environment is inherited).
  process.env.WORKLOAD_CA_CONFIG = world.configFile;
  const server = await startEmbeddedServer({ workers: opts.workers, trustDomain: TRUST_DOMAIN, cpuProfDir: null, production: false });
  const stop = async (): Promise<void> => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const issuingPem = readFileSync(join(server.dataDir, 'ca/issuing-ca.pem'), 'utf8');
    const machine = machineInfo();
    console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`);
    const args = process.argv.slice(2).join(' ');
    console.log(
      `command: ${process.env.npm_lifecycle_event === 'bench:est' ? `npm run bench:est${args ? ` -- ${args}` : ''}   (= ${commandLine()})` : commandLine()}`,
    );
    console.log(
      `server:  ${server.url.origin}, embedded mode, ${server.workers} worker(s); POST /.well-known/est/${LABEL}/simpleenroll with TLS client certificates`,
    );
    const levels: LevelResult[] = [];
    for (const concurrency of opts.concurrency) {
      console.error(`c=${concurrency}: ${opts.warmupSeconds}s warm-up + ${opts.durationSeconds}s measured…`);
      const run = await runLevel(server.url, server.rootPem, world.gateways, requests, concurrency, opts, server.pid);
      const verification = verifySamples(run.samples, server.rootPem, issuingPem, dir);
      levels.push({ ...run.result, verification });
      if (server.exitedEarly()) throw new Error(`${server.exitedEarly()}:\n${server.output().slice(-4000)}`);
    }
    console.log('\n| clients | enrolled/s | p50 ms | p99 ms | errors | verified | server CPU (cores) | load tool CPU |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const l of levels) {
      const cpu = l.cpu;
      console.log(
        `| ${l.concurrency} | ${l.perSecond.toFixed(0)} | ${l.latencyMs.p50.toFixed(1)} | ${l.latencyMs.p99.toFixed(1)} | ${l.errors.total} | ${l.verification.checked - l.verification.failed}/${l.verification.checked} | ${cpu?.serverCores?.toFixed(2) ?? '-'} | ${cpu?.loadGeneratorCores.toFixed(2) ?? '-'} |`,
      );
      for (const e of l.errors.distinct) console.log(`  c=${l.concurrency} error ×${e.count}: ${e.message}`);
      for (const f of l.verification.failures) console.log(`  c=${l.concurrency} verification failed: ${f}`);
    }
    if (opts.jsonFile) writeFileSync(opts.jsonFile, `${JSON.stringify({ machine, options: opts, levels }, null, 2)}\n`);
    const ok = levels.every((l) => l.verification.failed === 0 && l.verification.checked > 0);
    if (!ok) console.error('FAILED: see the verification notes above');
    return ok ? 0 : 1;
  } finally {
    await stop();
  }
}

/** One closed-loop level; a request counts if it completes inside the measured window. */
async function runLevel(
  url: URL,
  rootPem: string,
  gateways: readonly Gateway[],
  requests: readonly EstRequest[],
  concurrency: number,
  opts: Options,
  serverPid: number,
): Promise<{ result: Omit<LevelResult, 'verification'>; samples: { request: EstRequest; body: string }[] }> {
  const path = `/.well-known/est/${LABEL}/simpleenroll`;
  // One connection per virtual user, with its gateway's certificate; users share gateways round-robin.
  const clients = Array.from({ length: concurrency }, (_, i) => {
    const g = gateways[i % gateways.length]!;
    return {
      gateway: i % gateways.length,
      client: new Client(url.origin, { connect: { ca: rootPem, cert: g.certPem, key: g.keyPem }, pipelining: 1 }),
    };
  });
  // Each gateway asks only for its own devices' CSRs, taken in turn.
  const byGateway = gateways.map((_, g) => requests.filter((r) => r.gateway === g));
  const cursors = gateways.map(() => 0);
  const next = (g: number): EstRequest => byGateway[g]![cursors[g]!++ % byGateway[g]!.length]!;

  const start = process.hrtime.bigint();
  const measureStart = start + BigInt(Math.round(opts.warmupSeconds * 1e9));
  const deadline = measureStart + BigInt(opts.durationSeconds * 1e9);
  const latencies: number[] = [];
  const errors = new ErrorCounter();
  const reservoir = new Reservoir<{ request: EstRequest; body: string }>(opts.verify);
  let cpuStart: ReturnType<typeof cpuSnapshot> | null = null;
  const cpuTimer = setTimeout(() => (cpuStart = cpuSnapshot(serverPid)), opts.warmupSeconds * 1000);
  let cpu: CpuUse | null = null;
  const cpuEnd = setTimeout(
    () => (cpu = cpuStart ? cpuBetween(cpuStart, cpuSnapshot(serverPid)) : null),
    (opts.warmupSeconds + opts.durationSeconds) * 1000,
  );

  await Promise.all(
    clients.map(async ({ gateway, client }) => {
      for (;;) {
        const began = process.hrtime.bigint();
        if (began >= deadline) return;
        const request = next(gateway);
        let outcome: { ok: true; body: string } | { ok: false; error: string };
        try {
          const res = await client.request({ method: 'POST', path, headers: { 'content-type': 'application/pkcs10' }, body: request.body });
          const body = await res.body.text();
          outcome = res.statusCode === 200 ? { ok: true, body } : { ok: false, error: `HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}` };
        } catch (err) {
          outcome = { ok: false, error: `${(err as Error & { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}` };
        }
        const ended = process.hrtime.bigint();
        if (ended < measureStart || ended > deadline) continue;
        if (!outcome.ok) {
          errors.add(outcome.error);
          continue;
        }
        latencies.push(Number(ended - began) / 1e6);
        const body = outcome.body;
        reservoir.offer(() => ({ request, body }));
      }
    }),
  );
  clearTimeout(cpuTimer);
  clearTimeout(cpuEnd);
  cpu ??= cpuStart ? cpuBetween(cpuStart, cpuSnapshot(serverPid)) : null;
  await Promise.all(clients.map(({ client }) => client.close()));
  const measured = Number(deadline - measureStart) / 1e9;
  return {
    result: {
      concurrency,
      enrolled: latencies.length,
      perSecond: latencies.length / measured,
      latencyMs: summarizeLatencies(latencies),
      errors: errors.tally(),
      cpu,
    },
    samples: [...reservoir.sample],
  };
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`bench:est: ${err.message}`);
    process.exit(1);
  },
);
