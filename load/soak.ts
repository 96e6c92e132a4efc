// `npm run soak`: the mixed scenario (70% API, 20% EST, 10% ACME) at a constant arrival rate for
// ten minutes, by default half of the maximum that a short closed-loop run measures first. Every
// 30 s it prints the rate, errors, each server process's RSS and how far the ledger is behind;
// at the end it checks that every certificate any client received is in the ledger, and that
// nothing failed. Memory is reported, first and last, so a leak shows as a rising line.

import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { runArrivalRate, runClosedLoop, type MixEntry } from '../test/support/drive.js';
import { replaceSection } from './lib/benchmarks-file.js';
import { awaitLedger } from '../test/support/ledger-check.js';
import { RssSampler } from './lib/memory.js';
import { commandLine, machineInfo } from './lib/report.js';
import { startSuiteServer, type SuiteServer } from './lib/suite-server.js';
import type { Scenario } from '../test/support/scenarios/scenario.js';

const USAGE = `usage: npm run soak -- [--minutes 10] [--rate N] [--clients 256] [--report-every 30] [--no-write]

  --rate N     attempts per second; without it, half of the mix's closed-loop maximum (64 clients, 10 s)
  --clients N  virtual users: an attempt due while all are busy is dropped, and counted`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string' },
      clients: { type: 'string', default: '256' },
      'report-every': { type: 'string', default: '30' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seconds = Number(values.minutes) * 60;
  const clients = Number(values.clients);
  const every = Number(values['report-every']);
  if (!(seconds > 0) || !Number.isInteger(clients) || clients < 1 || !(every > 0)) {
    console.error(USAGE);
    return 2;
  }

  console.error('preparing: production server, tokens, CSRs, gateways…');
  const suite = await startSuiteServer({ workers: 'auto', cpuProfDir: null, identities: 16, csrs: 512, gateways: 8 });
  process.once('SIGINT', () => void suite.stop().finally(() => process.exit(130)));
  const memory = new RssSampler(() => [
    { pid: suite.server.pid, role: 'serve' },
    { pid: suite.server.ledgerWorkerPid(), role: 'ledger worker' },
  ]);
  const lines: string[] = [];
  const say = (line: string): void => {
    console.log(line);
    lines.push(line);
  };
  try {
    let rate: number;
    let max: Awaited<ReturnType<typeof runClosedLoop>> | null = null;
    if (values.rate) rate = Number(values.rate);
    else {
      console.error("measuring the mix's maximum: 64 clients, closed loop, 10 s…");
      max = await runClosedLoop(mix(suite, Math.ceil((12 * 1000 * 0.1) / 64) + 10), {
        concurrency: 64,
        warmupSeconds: 2,
        durationSeconds: 10,
        verifySample: 0,
      });
      const total = max.kinds.reduce((n, k) => n + k.perSecond, 0);
      rate = Math.max(1, Math.floor(total / 2));
      say(`maximum of the mix (closed loop, 64 clients): ${total.toFixed(0)}/s; soaking at half: ${rate}/s`);
    }
    // Twice the expected orders per user: users are picked first-free, not strictly in turn.
    const ordersPerClient = Math.ceil((rate * 0.1 * seconds * 2) / clients) + 10;
    console.error(`preparing ${clients} ACME accounts with ${ordersPerClient} orders each…`);
    const entries = mix(suite, ordersPerClient);
    memory.start();
    const startMemory = memory.window();
    memory.reset();
    // The soak starts from a quiet system: the measuring run's certificates are in the ledger first.
    if (max) await awaitLedger(max.serials, suite.server.ledgerSerials!, performance.now());
    // Rows already in the ledger (from the measuring run) are not part of the soak's backlog.
    const rowsBefore = await suite.server.ledgerRows!();
    say(
      `soak: ${rate}/s for ${seconds / 60} min (the first 30 s ramping up from zero), mix 70% API / 20% EST / 10% ACME, up to ${clients} in flight`,
    );
    say(
      '| elapsed s | started | certificates | errors | dropped | serve RSS MiB | ledger worker RSS MiB | ledger behind (rows) | oldest unrecorded event s |',
    );
    say('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const result = await runArrivalRate(entries, {
      ratePerSecond: rate,
      durationSeconds: seconds,
      maxInFlight: clients,
      // A cold start (JIT, connection set-up, first ACME orders) gets the rate in steps, as a rollout would.
      rampSeconds: 30,
      verifySample: 20,
      reportEverySeconds: every,
      onProgress: async (elapsed, p) => {
        const now = memory.window();
        const rows = await suite.server.ledgerRows!();
        const serve = now
          .filter((m) => m.role.startsWith('serve'))
          .map((m) => m.lastMiB)
          .join(' / ');
        const worker = now
          .filter((m) => m.role === 'ledger worker')
          .map((m) => m.lastMiB)
          .join(' / ');
        say(
          `| ${elapsed.toFixed(0)} | ${p.started} | ${p.received} | ${p.errors} | ${p.dropped} | ${serve} | ${worker} | ${Math.max(0, p.received - (rows - rowsBefore))} | ${await oldestUnrecorded(suite)} |`,
        );
      },
    });
    const stoppedAt = performance.now();
    const endMemory = memory.window();
    const ledger = await awaitLedger(result.serials, suite.server.ledgerSerials!, stoppedAt);
    const errors = result.kinds.reduce((n, k) => n + k.errors.total, 0);
    say('');
    for (const k of result.kinds) {
      say(
        `- ${k.kind}: ${k.completed} in ${seconds} s (${k.perSecond.toFixed(0)}/s), p50 ${k.latencyMs.p50.toFixed(1)} ms, p99 ${k.latencyMs.p99.toFixed(1)} ms, ${k.errors.total} errors`,
      );
      for (const e of k.errors.distinct) say(`  - error ×${e.count}: ${e.message}`);
    }
    say(`- dropped (all users busy when due): ${result.dropped}`);
    say(
      `- memory, first → last sample (peak): ${endMemory.map((m) => `${m.role} ${startOf(startMemory, m.pid)} → ${m.lastMiB} MiB (${m.peakMiB})`).join('; ')}`,
    );
    say(
      ledger.lagSeconds === null
        ? `- ledger: ${ledger.missing.length}+ of ${ledger.received} certificates received are missing, e.g. ${ledger.missing.join(', ')}`
        : `- ledger: every one of the ${ledger.received} certificates received is recorded (${ledger.rows} rows), ${ledger.lagSeconds.toFixed(1)} s after the load stopped`,
    );
    const verification = result.kinds.map((k) => ({ kind: k.kind, ...k.verify() }));
    for (const v of verification)
      say(
        `- ${v.kind}: verified ${v.checked - v.failures.length}/${v.checked} sampled certificates${v.failures.length ? `: ${v.failures.join('; ')}` : ''}`,
      );
    const ok = errors === 0 && result.dropped === 0 && ledger.missing.length === 0 && verification.every((v) => v.failures.length === 0);
    say(`- result: ${ok ? 'no errors, nothing dropped, every certificate recorded' : 'FAILED'}`);
    if (!values['no-write']) {
      const m = machineInfo();
      replaceSection(
        'soak',
        [
          `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.cpuModel}, ${m.cores} cores, Node ${m.node}. Command: \`${commandLine()}\``,
          '',
          ...lines,
        ].join('\n'),
      );
      console.log('BENCHMARKS.md updated (section "Soak")');
    }
    return ok ? 0 : 1;
  } finally {
    memory.stop();
    await suite.stop();
  }
}

function mix(s: SuiteServer, ordersPerClient: number): MixEntry[] {
  return [
    { scenario: s.api as Scenario<unknown>, weight: 70 },
    { scenario: s.est as Scenario<unknown>, weight: 20 },
    { scenario: s.acme(ordersPerClient) as Scenario<unknown>, weight: 10 },
  ];
}

function startOf(start: readonly { pid: number; lastMiB: number }[], pid: number): string {
  return String(start.find((m) => m.pid === pid)?.lastMiB ?? '?');
}

/** The API's own gauge: the age of the oldest audit event that the ledger does not hold yet. */
async function oldestUnrecorded(s: SuiteServer): Promise<string> {
  try {
    const res = await request(`${s.server.url.origin}/metrics`, { dispatcher: new Agent({ connect: { ca: s.server.rootPem } }) });
    const text = await res.body.text();
    return /^workload_ca_audit_queue_oldest_seconds (\S+)$/m.exec(text)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`soak: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
