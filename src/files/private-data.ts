// The data directory holds private keys, the admin token, EST password hashes and, in the
// embedded ledger, the ACME EAB HMAC keys. Nothing in it is for other users of the machine:
// directories are 0700 and files 0600 whatever umask the CA was started with.

import { chmodSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';

/** Applied before anything is created, so every file any library writes is private too. */
export const PRIVATE_UMASK = 0o077;

export interface Tightened {
  /** Relative to the data directory ("." for the directory itself). */
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

export interface Untightened {
  readonly path: string;
  readonly reason: string;
}

export interface TightenResult {
  readonly tightened: readonly Tightened[];
  /**
   * Entries that could not be changed: not ours (a volume root owned by another user) or on a
   * read-only mount. Reported, not fatal: refusing to start would not make them private either.
   */
  readonly failed: readonly Untightened[];
}

/**
 * Removes group and other permissions from the directory and everything under it. Symbolic
 * links are neither followed nor changed (a link's own mode means nothing, and its target may
 * be the operator's, outside this directory). A missing directory is not an error: first start.
 */
export function tightenDataDir(dir: string): TightenResult {
  const tightened: Tightened[] = [];
  const failed: Untightened[] = [];
  const visit = (path: string): void => {
    const name = relative(dir, path) || '.';
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (err) {
      // Gone between readdir and lstat, or the data directory does not exist yet.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push({ path: name, reason: (err as Error).message });
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o7777;
    if ((mode & 0o077) !== 0) {
      const to = mode & ~0o077;
      try {
        chmodSync(path, to);
        tightened.push({ path: name, from: mode, to });
      } catch (err) {
        failed.push({ path: name, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      }
    }
    if (!st.isDirectory()) return;
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch (err) {
      failed.push({ path: name, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      return;
    }
    for (const entry of entries) visit(join(path, entry));
  };
  visit(dir);
  return { tightened, failed };
}

/** One log line however many entries changed; the first few named, so the operator knows what to look at. */
export function describeTightened(dir: string, tightened: readonly Tightened[], show = 8): string {
  const octal = (m: number) => m.toString(8).padStart(4, '0');
  const named = tightened.slice(0, show).map((t) => `${t.path} ${octal(t.from)}->${octal(t.to)}`);
  const more = tightened.length > show ? `, and ${tightened.length - show} more` : '';
  return `tightened permissions of ${tightened.length} entr${tightened.length === 1 ? 'y' : 'ies'} under ${dir} that other users could read: ${named.join(', ')}${more}`;
}

export function describeUntightened(dir: string, failed: readonly Untightened[], show = 8): string {
  const named = failed.slice(0, show).map((f) => `${f.path} (${f.reason})`);
  const more = failed.length > show ? `, and ${failed.length - show} more` : '';
  return `could not make ${failed.length} entr${failed.length === 1 ? 'y' : 'ies'} under ${dir} private to this user: ${named.join(', ')}${more}`;
}
