// A configuration problem is a value, not an exception: loading collects every one of them, and
// the CLI prints them all and exits non-zero. Each names the setting both ways an operator can
// spell it, the file key and the environment variable, starting with the one they used.

import type { Setting } from './settings.js';

export type ProblemSource =
  /** The value came from the file named by WORKLOAD_CA_CONFIG. */
  | { readonly kind: 'file'; readonly file: string | null }
  /** The value came from the setting's environment variable. */
  | { readonly kind: 'environment' }
  /** Several settings together, wherever each came from. */
  | { readonly kind: 'combination'; readonly settings: readonly Setting[] };

export interface ConfigProblem {
  /** The file key of the offending value: `listen.port`, `tokenIssuers[0].jwksUrl`. */
  readonly key: string;
  /** The setting it belongs to; absent for a key the schema does not know. */
  readonly setting?: Setting;
  readonly source: ProblemSource;
  /** What is wrong, as a predicate of the key: "must be at most 65535". */
  readonly message: string;
  /** The offending value, when it is safe and useful to show. */
  readonly value?: unknown;
}

/** A file key path as an operator writes it: tokenIssuers[0].jwksUrl. */
export function keyOf(path: readonly string[]): string {
  return path.reduce((key, part) => (/^\d+$/.test(part) ? `${key}[${part}]` : key ? `${key}.${part}` : part), '');
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

export function formatProblem(p: ConfigProblem): string {
  // Scalars only: a whole object or list says less than the key of the part that is wrong.
  const scalar = p.value !== undefined && (p.value === null || typeof p.value !== 'object');
  const got = !scalar || p.setting?.secret ? '' : `, got ${shown(p.value)}`;
  const s = p.setting;
  switch (p.source.kind) {
    case 'environment': {
      const env = s?.env ?? 'the environment';
      const subject = s && p.key !== s.key ? `${env}: ${p.key}` : env;
      return `${subject} ${p.message}${got} (file key ${s?.key ?? p.key})`;
    }
    case 'file': {
      const where = [p.source.file ? `in ${p.source.file}` : null, s ? `environment ${s.env}` : null].filter(Boolean).join('; ');
      return `${p.key || 'the configuration file'} ${p.message}${got}${where ? ` (${where})` : ''}`;
    }
    case 'combination':
      return `${p.key} ${p.message} (environment ${p.source.settings.map((x) => x.env).join(', ')})`;
  }
}
