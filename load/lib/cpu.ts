// CPU time spent by the load generator and (embedded mode, Linux) by the server's process tree
// during the measured window. On a small machine both share the same cores, so a reader needs to
// know how much of the machine the generator itself took.

import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports /proc times in clock ticks; 100 Hz is what every common kernel build uses. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  readonly atNs: bigint;
  readonly selfMicros: number;
  /** utime+stime of the server (first entry) and its direct children (the cluster workers), or null. */
  readonly serverTicks: ReadonlyMap<number, number> | null;
}

export interface CpuUse {
  /** Cores' worth of CPU: 1.0 means one core fully busy for the whole window. */
  readonly loadGeneratorCores: number;
  readonly serverCores: number | null;
  /** The same per server process: the primary (ledger owner in embedded mode) first, then workers. */
  readonly serverProcesses: readonly { readonly pid: number; readonly cores: number }[] | null;
}

export function cpuSnapshot(serverPid: number | null): CpuSnapshot {
  const u = process.cpuUsage();
  return { atNs: process.hrtime.bigint(), selfMicros: u.user + u.system, serverTicks: serverPid === null ? null : processTreeTicks(serverPid) };
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = Number(b.atNs - a.atNs) / 1e9;
  const processes = a.serverTicks && b.serverTicks ? perProcess(a.serverTicks, b.serverTicks, seconds) : null;
  return {
    loadGeneratorCores: (b.selfMicros - a.selfMicros) / 1e6 / seconds,
    serverCores: processes ? processes.reduce((sum, p) => sum + p.cores, 0) : null,
    serverProcesses: processes,
  };
}

/** Processes present at both ends; a worker replaced mid-window would show up as missing. */
function perProcess(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>, seconds: number): { pid: number; cores: number }[] {
  return [...b].filter(([pid]) => a.has(pid)).map(([pid, ticks]) => ({ pid, cores: (ticks - a.get(pid)!) / CLOCK_TICKS_PER_SECOND / seconds }));
}

/** The server's pid and its direct children (the cluster's serving processes). */
export function serverProcesses(rootPid: number): number[] {
  return [...(processTreeTicks(rootPid)?.keys() ?? [])];
}

function processTreeTicks(rootPid: number): Map<number, number> | null {
  const own = statOf(rootPid);
  if (own === null) return null;
  const ticks = new Map([[rootPid, own.ticks]]);
  for (const pid of listPids()) {
    const s = statOf(pid);
    if (s !== null && s.ppid === rootPid) ticks.set(pid, s.ticks);
  }
  return ticks;
}

function listPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** Fields of /proc/PID/stat after the parenthesised command name: ppid is 4th, utime 14th, stime 15th. */
function statOf(pid: number): { ppid: number; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}
