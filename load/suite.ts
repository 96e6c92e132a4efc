// `npm run bench`: the production suite. One server in production mode (Redis queue, Postgres
// ledger, a ledger worker) and four scenarios against it, one after another: the issuance API
// at 1 and 64 clients, EST at 64, whole ACME orders at 64, and the 70/20/10 mix at 64; then the
// API at 64 again against a second server whose issuing key is in an HSM (SoftHSM2, through
// PKCS#11), reported as a ratio to the first (an encrypted key file). For each:
// throughput, latency percentiles, errors, sampled certificates verified, the server processes'
// peak RSS, and how long after the load stopped the ledger held every certificate received.
// The table is printed and written into BENCHMARKS.md with the machine and the command.
//
// Fairness: tokens, keys, CSRs and ACME accounts are made before any clock starts; every client
// keeps its connection as an agent does; warm-up is not counted; a sample of each scenario's
// certificates is checked (chain, SPIFFE ID, key), so a fast wrong answer fails the run.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runClosedLoop, type DriveResult, type MixEntry } from '../test/support/drive.js';
import { replaceSection } from './lib/benchmarks-file.js';
import { awaitLedger, type LedgerCheck } from '../test/support/ledger-check.js';
import { RssSampler, type ProcessMemory } from './lib/memory.js';
import { commandLine, machineInfo, type MachineInfo } from './lib/report.js';
import { startSuiteServer, type SuiteServer } from './lib/suite-server.js';
import type { Scenario } from '../test/support/scenarios/scenario.js';

const USAGE = `usage: npm run bench -- [options]

  --duration SECONDS   measured seconds per scenario (default 10)
  --warmup SECONDS     unmeasured seconds before each (default 2)
  --clients N          clients of the concurrent levels (default 64)
  --only LIST          some of api1,api,renew,est,acme,mixed,api-hsm (default: all)
                       renew: mTLS renewal, each client presenting its own SVID;
                       api-hsm needs SoftHSM2 and is compared with api when both run
  --server-checkout DIR  serve from another built checkout of the project (its
                       dist/cli.js), e.g. to measure a change against the code before it
  --tokens fresh|reused  fresh (default): every API request carries its own newly
                       minted token, as a fleet of workloads sends them; reused: 16
                       tokens cycled, so the server's cache of verified tokens answers
  --token-rate N       fresh tokens minted per measured-and-warm-up second of an API
                       level at 64 clients (default 4000; a quarter of it at 1 client);
                       running out shows as errors, never as a reused token
  --workers N|auto     serving processes (default auto: one per core)
  --verify N           certificates checked per scenario (default 20)
  --cpu-prof-dir DIR   run the server under node --cpu-prof
  --no-write           print only; do not update BENCHMARKS.md
  --json FILE          also write the results as JSON`;

const LEVELS = ['api1', 'api', 'renew', 'est', 'acme', 'mixed', 'api-hsm'] as const;
type LevelName = (typeof LEVELS)[number];

/** The issue's targets for the 2-core machine, shown next to each figure rather than asserted. */
const TARGETS: Record<LevelName, string> = {
  api1: 'p50 ≤ 1 ms',
  api: '≥ 5,000/s, p99 ≤ 25 ms',
  renew: '-',
  est: '≥ 3,000/s',
  acme: '≥ 600 orders/s, p99 ≤ 250 ms',
  mixed: '-',
  'api-hsm': '-',
};

interface LevelReport {
  readonly name: LevelName;
  readonly clients: number;
  readonly drive: DriveResult;
  readonly verification: { kind: string; checked: number; failures: readonly string[] }[];
  readonly memory: readonly ProcessMemory[];
  readonly ledger: LedgerCheck;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      clients: { type: 'string', default: '64' },
      only: { type: 'string', default: LEVELS.join(',') },
      workers: { type: 'string', default: 'auto' },
      tokens: { type: 'string', default: 'fresh' },
      'token-rate': { type: 'string', default: '4000' },
      verify: { type: 'string', default: '20' },
      'cpu-prof-dir': { type: 'string' },
      'server-checkout': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const clients = Number(values.clients);
  const only = values.only!.split(',') as LevelName[];
  const tokens = values.tokens as 'fresh' | 'reused';
  const tokenRate = Number(values['token-rate']);
  if (
    !(duration > 0) ||
    !(warmup >= 0) ||
    !Number.isInteger(clients) ||
    clients < 1 ||
    only.some((l) => !LEVELS.includes(l)) ||
    !['fresh', 'reused'].includes(tokens) ||
    !(tokenRate > 0)
  ) {
    console.error(USAGE);
    return 2;
  }

  console.error('preparing: production server, tokens, CSRs, gateways…');
  const serverOptions = {
    workers: values.workers === 'auto' ? ('auto' as const) : Number(values.workers),
    cpuProfDir: values['cpu-prof-dir'] ?? null,
    checkout: values['server-checkout'] ?? null,
    tokens,
    identities: 16,
    csrs: 512,
    gateways: 8,
  };
  const suite = await startSuiteServer(serverOptions);
  // The server the current level runs against: the HSM level has one of its own.
  let active: SuiteServer = suite;
  const stopOnSignal = (): void => void Promise.all([suite.stop(), active.stop()]).finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  const memory = new RssSampler(() => [
    { pid: active.server.pid, role: 'serve' },
    { pid: active.server.ledgerWorkerPid(), role: 'ledger worker' },
  ]).start();
  const machine = machineInfo();
  const command = commandLine();
  const reports: LevelReport[] = [];
  const received: string[] = [];
  try {
    for (const name of LEVELS.filter((l) => only.includes(l))) {
      const c = name === 'api1' ? 1 : clients;
      if (name === 'api-hsm') {
        console.error('preparing: a second production server with its issuing key in SoftHSM2 (PKCS#11)…');
        active = await startSuiteServer({ ...serverOptions, gateways: 1, signer: 'pkcs11' });
        received.length = 0;
      }
      console.error(`${name}: ${c} client(s), ${warmup}s warm-up + ${duration}s measured…`);
      if (tokens === 'fresh' && (name === 'api1' || name === 'api' || name === 'mixed' || name === 'api-hsm')) {
        const count = Math.ceil(((c === 1 ? tokenRate / 4 : tokenRate) * (duration + warmup)) / (name === 'mixed' ? 1.4 : 1));
        const began = performance.now();
        active.freshTokens.refill(count);
        console.error(`  ${count} fresh tokens minted in ${((performance.now() - began) / 1000).toFixed(1)} s`);
      }
      memory.reset();
      const drive = await runClosedLoop(mixFor(name, active, c, duration + warmup), {
        concurrency: c,
        warmupSeconds: warmup,
        durationSeconds: duration,
        verifySample: Number(values.verify),
      });
      const stoppedAt = performance.now();
      received.push(...drive.serials);
      const ledger = await awaitLedger(received, active.server.ledgerSerials!, stoppedAt);
      const report: LevelReport = {
        name,
        clients: c,
        drive,
        verification: drive.kinds.map((k) => ({ kind: k.kind, ...k.verify() })),
        memory: memory.window(),
        ledger,
      };
      reports.push(report);
      printLevel(report);
      const died = active.server.exitedEarly();
      if (died) throw new Error(`${died}:\n${active.server.output().slice(-4000)}`);
    }
  } finally {
    memory.stop();
    await suite.stop();
    if (active !== suite) await active.stop();
  }

  const table = markdown(reports);
  console.log(`\n${table}`);
  const ratio = signerRatio(reports);
  if (ratio) console.log(`\n${ratio}`);
  const section = sectionText(machine, command, suite.server.workers, tokens, table, reports);
  if (!values['no-write']) {
    replaceSection('production-suite', section);
    console.log('BENCHMARKS.md updated (section "Production suite")');
  }
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine, command, reports }, null, 2)}\n`);
  const ok = reports.every((r) => r.verification.every((v) => v.failures.length === 0 && v.checked > 0) && r.ledger.missing.length === 0);
  if (!ok) console.error('FAILED: a sampled certificate was wrong or a certificate is missing from the ledger (see above)');
  return ok ? 0 : 1;
}

/** ACME clients get enough fresh names for a generous rate over the whole level. */
function mixFor(name: LevelName, s: SuiteServer, clients: number, seconds: number): MixEntry[] {
  const orders = (share: number): number => Math.ceil((seconds * 1000 * share) / clients) + 10;
  const entry = (scenario: Scenario<unknown>, weight: number): MixEntry => ({ scenario, weight });
  switch (name) {
    case 'api1':
    case 'api':
    case 'api-hsm':
      return [entry(s.api as Scenario<unknown>, 1)];
    case 'renew':
      return [entry(s.renew as Scenario<unknown>, 1)];
    case 'est':
      return [entry(s.est as Scenario<unknown>, 1)];
    case 'acme':
      return [entry(s.acme(orders(1)) as Scenario<unknown>, 1)];
    case 'mixed':
      return [entry(s.api as Scenario<unknown>, 70), entry(s.est as Scenario<unknown>, 20), entry(s.acme(orders(0.2)) as Scenario<unknown>, 10)];
  }
}

function printLevel(r: LevelReport): void {
  for (const k of r.drive.kinds) {
    console.log(
      `${r.name} ${k.kind}: ${k.perSecond.toFixed(0)}/s, p50 ${k.latencyMs.p50.toFixed(1)} ms, p99 ${k.latencyMs.p99.toFixed(1)} ms, ${k.errors.total} errors`,
    );
    for (const e of k.errors.distinct) console.log(`  error ×${e.count}: ${e.message}`);
  }
  for (const v of r.verification) {
    console.log(`  ${v.kind}: verified ${v.checked - v.failures.length}/${v.checked} sampled certificates`);
    for (const f of v.failures) console.log(`  verification failed: ${f}`);
  }
  console.log(`  memory: ${r.memory.map((m) => `${m.role} ${m.peakMiB} MiB`).join(', ')}`);
  const l = r.ledger;
  console.log(
    l.lagSeconds === null
      ? `  ledger: ${l.missing.length}+ of ${l.received} received certificates still missing after 60 s, e.g. ${l.missing.join(', ')}`
      : `  ledger: all ${l.received} certificates received so far are recorded (${l.rows} rows); lag ${l.lagSeconds.toFixed(1)} s`,
  );
}

function markdown(reports: readonly LevelReport[]): string {
  const rows = reports.flatMap((r) => {
    const serveMiB = Math.max(...r.memory.filter((m) => m.role.startsWith('serve')).map((m) => m.peakMiB));
    const workerMiB = Math.max(0, ...r.memory.filter((m) => m.role === 'ledger worker').map((m) => m.peakMiB));
    const lag = r.ledger.lagSeconds === null ? `missing ${r.ledger.missing.length}` : r.ledger.lagSeconds.toFixed(1);
    return r.drive.kinds.map((k, i) => {
      const label = r.name === 'mixed' ? `mixed: ${k.kind}` : r.name === 'api1' ? 'api' : r.name === 'api-hsm' ? 'api, key in SoftHSM2' : r.name;
      const verified = r.verification[i]!;
      const perSecond = r.name === 'acme' || k.kind === 'acme' ? `${k.perSecond.toFixed(0)} orders` : k.perSecond.toFixed(0);
      return `| ${label} | ${r.clients} | ${perSecond} | ${k.latencyMs.p50.toFixed(1)} | ${k.latencyMs.p95.toFixed(1)} | ${k.latencyMs.p99.toFixed(1)} | ${k.errors.total} | ${verified.checked - verified.failures.length}/${verified.checked} | ${serveMiB} / ${workerMiB} | ${lag} | ${i === 0 ? TARGETS[r.name] : ''} |`;
    });
  });
  return [
    '| scenario | clients | per second | p50 ms | p95 ms | p99 ms | errors | verified | peak RSS MiB (serve / ledger worker) | ledger lag s | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

function sectionText(
  machine: MachineInfo,
  command: string,
  workers: number,
  tokens: 'fresh' | 'reused',
  table: string,
  reports: readonly LevelReport[],
): string {
  const mixed = reports.find((r) => r.name === 'mixed');
  const mixedTotal = mixed ? mixed.drive.kinds.reduce((s, k) => s + k.perSecond, 0) : null;
  const ratio = signerRatio(reports);
  return [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; the load tool, Postgres and Redis share the same cores.`,
    '',
    `Command: \`${command}\``,
    '',
    `Server: production mode, ${workers} serving process(es), one ledger worker. API tokens: ${tokens === 'fresh' ? 'a fresh one per request (minted before the clock starts), so no cached verification answers' : '16 tokens cycled (the server verifies each once, then answers from its cache)'}. "verified" counts sampled certificates checked for chain, SPIFFE ID and key; "ledger lag" is how long after the load stopped every certificate a client received was in the ledger.`,
    '',
    table,
    ...(mixedTotal === null ? [] : ['', `Mixed total: ${mixedTotal.toFixed(0)} certificates/s.`]),
    ...(ratio === null ? [] : ['', ratio]),
  ].join('\n');
}

/** API issuance with the key in SoftHSM2 against the encrypted key file, both measured in this run. */
function signerRatio(reports: readonly LevelReport[]): string | null {
  const file = reports.find((r) => r.name === 'api')?.drive.kinds[0];
  const hsm = reports.find((r) => r.name === 'api-hsm')?.drive.kinds[0];
  if (!file || !hsm || file.perSecond === 0) return null;
  return (
    `Signer: API at ${reports.find((r) => r.name === 'api')!.clients} clients with the issuing key in SoftHSM2 (PKCS#11) ${hsm.perSecond.toFixed(0)}/s ` +
    `against an encrypted key file ${file.perSecond.toFixed(0)}/s: ratio ${(hsm.perSecond / file.perSecond).toFixed(2)} ` +
    `(p99 ${hsm.latencyMs.p99.toFixed(1)} ms against ${file.latencyMs.p99.toFixed(1)} ms).`
  );
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`bench: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
