// Holds the policy in force and swaps it when the file changes (fs.watch) or on SIGHUP.
// A new file that does not validate is refused with its problems logged; the old policy stays.

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parsePolicy, type Policy } from '../policy/index.js';
import type { PolicyProblem } from '../policy/types.js';
import type { PolicySource } from './issuer.js';

export interface PolicyLog {
  info(msg: string): void;
  error(msg: string): void;
}

export type LoadResult = { ok: true; policy: Policy } | { ok: false; problems: readonly PolicyProblem[] };

/**
 * What the server's settings find wrong with an otherwise valid policy (a rule that needs a
 * setting left unset). Such a policy is refused at start and on reload, like an invalid one.
 */
export type PolicyCheck = (policy: Policy) => readonly PolicyProblem[];

export function loadPolicyFile(file: string, check?: PolicyCheck): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ line: 0, column: 0, path: '', message: (err as Error).message }] };
  }
  const parsed = parsePolicy(text);
  const problems = parsed.ok && check ? check(parsed.policy) : [];
  return problems.length > 0 ? { ok: false, problems } : parsed;
}

export function formatProblems(file: string, problems: readonly PolicyProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

export class PolicyStore implements PolicySource {
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private loaded = new Date();

  private constructor(
    private readonly file: string,
    private policy: Policy,
    private readonly log: PolicyLog,
    private readonly check?: PolicyCheck,
  ) {}

  static open(file: string, log: PolicyLog, check?: PolicyCheck): { ok: true; store: PolicyStore } | { ok: false; message: string } {
    const loaded = loadPolicyFile(file, check);
    if (!loaded.ok) return { ok: false, message: formatProblems(file, loaded.problems) };
    return { ok: true, store: new PolicyStore(file, loaded.policy, log, check) };
  }

  get current(): Policy {
    return this.policy;
  }

  /** When the policy in force was loaded (a reload of the same document keeps the time). */
  get loadedAt(): Date {
    return this.loaded;
  }

  /** Re-reads the file; keeps the current policy when the new one is invalid. */
  reload(): LoadResult {
    const loaded = loadPolicyFile(this.file, this.check);
    if (!loaded.ok) {
      this.log.error(`policy reload refused; still serving ${this.policy.hash}:\n${formatProblems(this.file, loaded.problems)}`);
      return loaded;
    }
    if (loaded.policy.hash !== this.policy.hash) {
      this.log.info(`policy reloaded: ${this.policy.hash} -> ${loaded.policy.hash}`);
      this.policy = loaded.policy;
      this.loaded = new Date();
    }
    return loaded;
  }

  /**
   * Watches the file's directory rather than the file: editors and Kubernetes ConfigMaps replace
   * the file (rename or symlink swap), which a watch on the old inode would miss.
   */
  watch(): void {
    if (this.watcher) return;
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), 100);
    });
    this.watcher.unref();
  }

  close(): void {
    this.watcher?.close();
    if (this.debounce) clearTimeout(this.debounce);
  }
}
