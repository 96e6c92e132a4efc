// BENCHMARKS.md holds generated sections between markers (<!-- NAME:begin --> … <!-- NAME:end -->)
// and hand-written analysis around them; a run replaces only its own section.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './embedded-server.js';

export function replaceSection(name: string, section: string): void {
  const file = join(PROJECT_ROOT, 'BENCHMARKS.md');
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start === -1 || stop === -1) throw new Error(`BENCHMARKS.md lacks the ${begin} … ${end} markers`);
  writeFileSync(file, `${text.slice(0, start + begin.length)}\n${section}\n${text.slice(stop)}`);
}
