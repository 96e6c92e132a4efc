// Resident memory of the server's processes, sampled once a second from /proc: the issue's
// budget is per process, and a leak shows as a rising floor, so peaks and first/last are kept.

import { readFileSync } from 'node:fs';
import { serverProcesses } from './cpu.js';

export interface ProcessMemory {
  readonly pid: number;
  readonly role: string;
  readonly firstMiB: number;
  readonly lastMiB: number;
  readonly peakMiB: number;
}

export class RssSampler {
  private readonly seen = new Map<number, { role: string; first: number; last: number; peak: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly roots: () => { pid: number | null; role: string }[]) {}

  start(everyMs = 1000): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** What was seen since the last reset; a reset starts a new window (one per level). */
  window(): ProcessMemory[] {
    this.sample();
    return [...this.seen].map(([pid, m]) => ({ pid, role: m.role, firstMiB: m.first, lastMiB: m.last, peakMiB: m.peak }));
  }

  reset(): void {
    this.seen.clear();
  }

  private sample(): void {
    for (const root of this.roots()) {
      if (root.pid === null) continue;
      const pids = root.role === 'serve' ? serverProcesses(root.pid) : [root.pid];
      pids.forEach((pid, i) => {
        const mib = rssMiB(pid);
        if (mib === null) return;
        const role = root.role === 'serve' ? (i === 0 ? 'serve primary' : 'serve worker') : root.role;
        const m = this.seen.get(pid);
        if (m) {
          m.last = mib;
          m.peak = Math.max(m.peak, mib);
        } else this.seen.set(pid, { role, first: mib, last: mib, peak: mib });
      });
    }
  }
}

function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}
