// What a reader needs to judge the numbers: the machine, the exact command, the server set-up,
// the results table, and the same as JSON for later comparison.

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { relative } from 'node:path';
import type { VerificationResult } from '../../test/support/verify.js';
import type { LevelResult } from './runner.js';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
}

export interface ServerInfo {
  readonly mode: 'embedded' | 'production' | 'remote';
  readonly url: string;
  /** Embedded only: serving processes as the server reported them. */
  readonly workers: number | null;
  readonly workersRequested: number | 'auto' | null;
}

export interface LevelReport extends LevelResult {
  readonly verification: VerificationResult;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly command: string;
  readonly server: ServerInfo;
  readonly settings: { durationSeconds: number; warmupSeconds: number; csrs: number; credentials: number; verifySample: number };
  readonly levels: readonly LevelReport[];
  readonly ok: boolean;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** The command as it can be pasted again: node flags, the script relative to the cwd, its arguments. */
export function commandLine(): string {
  const script = relative(process.cwd(), process.argv[1] ?? '') || process.argv[1] || '';
  const parts = ['node', ...process.execArgv, script, ...process.argv.slice(2)];
  const line = parts.map(shellQuote).join(' ');
  const npmArgs = process.argv.slice(2).map(shellQuote).join(' ');
  return /^(bench|soak)/.test(process.env.npm_lifecycle_event ?? '')
    ? `npm run ${process.env.npm_lifecycle_event}${npmArgs ? ` -- ${npmArgs}` : ''}   (= ${line})`
    : line;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function printHeader(machine: MachineInfo, command: string, server: ServerInfo): void {
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`);
  console.log(`command: ${command}`);
  const workers = server.mode === 'embedded' ? `, workers ${server.workers} (requested ${server.workersRequested})` : '';
  console.log(`server:  ${server.mode}${workers}, ${server.url}`);
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function markdownTable(levels: readonly LevelReport[]): string {
  const rows = levels.map((l) =>
    [
      l.concurrency,
      fmt(l.issuedPerSecond),
      fmt(l.latencyMs.p50),
      fmt(l.latencyMs.p95),
      fmt(l.latencyMs.p99),
      fmt(l.latencyMs.max),
      l.errors.total,
    ].join(' | '),
  );
  return [
    '| concurrency | issued/s | p50 ms | p95 ms | p99 ms | max ms | errors |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

/** Details the table has no room for: CPU split, uncounted requests, errors, failed checks. */
export function levelNotes(l: LevelReport): string[] {
  const notes: string[] = [];
  const cpu = l.cpu;
  if (cpu) {
    const parts = cpu.serverProcesses?.map((p, i) => `${i === 0 ? 'primary' : 'worker'} ${fmt(p.cores, 2)}`).join(', ');
    const server = cpu.serverCores === null ? '' : `, server ${fmt(cpu.serverCores, 2)} cores (${parts})`;
    notes.push(`c=${l.concurrency}: CPU during window: load generator ${fmt(cpu.loadGeneratorCores, 2)} cores${server}`);
  }
  notes.push(
    `c=${l.concurrency}: ${l.issued} issued in ${fmt(l.measuredSeconds, 2)} s; not counted: ${l.uncounted.warmup} warm-up, ` +
      `${l.uncounted.afterDeadline} finished after the deadline, ${l.uncounted.warmupErrors} warm-up errors`,
  );
  for (const e of l.errors.distinct) notes.push(`c=${l.concurrency}: error ×${e.count}: ${e.message}`);
  if (l.errors.otherCount) notes.push(`c=${l.concurrency}: ${l.errors.otherCount} more errors with other messages`);
  const v = l.verification;
  notes.push(`c=${l.concurrency}: verified ${v.checked} sampled certificates: ${v.failed === 0 ? 'all good' : `${v.failed} FAILED`}`);
  for (const f of v.failures) notes.push(`c=${l.concurrency}:   serial ${f.serial ?? '?'}: ${f.problems.join('; ')}`);
  return notes;
}

export function writeJson(file: string, report: BenchReport): void {
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
