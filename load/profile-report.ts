// `npm run profile:report -- FILE.cpuprofile [--top N]`: what a `node --cpu-prof` profile of a
// serving process spent its time on, as text: self time by function, time by file or package,
// and inclusive time (a function and everything it called). The bench's `--cpu-prof-dir`
// writes one profile per process; the largest file is usually the busiest serving process.
// Open the same file in Chrome DevTools (Performance) or speedscope for a flame graph.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** node_modules/pkg/... → pkg; src or dist files keep their project path; the rest by name. */
function place(url: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  const own = /\/(src|dist)\/(.+)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url || '(native)';
}

const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'}  ${place(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;

export function report(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeOf = new Map<number, number>();
  profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  for (const t of timeOf.values()) total += t;

  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number): void => void m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of timeOf) {
    const frame = byId.get(id)!.callFrame;
    add(self, label(frame), t);
    add(files, frame.url ? place(frame.url) : frame.functionName, t);
    // Each function once per stack, so recursion is not counted twice.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!.callFrame);
      if (!seen.has(k)) add(inclusive, k, t);
      seen.add(k);
    }
  }
  const table = (title: string, m: Map<string, number>): string =>
    [
      `${title}:`,
      ...[...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(6)}%  ${k}`),
    ].join('\n');
  return [
    `${(total / 1e6).toFixed(1)} s sampled ("(idle)" is time the process waited)`,
    table('self time', self),
    table('by file or package', files),
    table('inclusive', inclusive),
  ].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length !== 1) {
    console.error('usage: npm run profile:report -- FILE.cpuprofile [--top N]');
    process.exitCode = 2;
  } else {
    console.log(report(JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile, Number(values.top)));
  }
}
