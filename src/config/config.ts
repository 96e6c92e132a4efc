// One configuration schema for the file and the environment (schema.ts). The file (YAML,
// optional, named by WORKLOAD_CA_CONFIG) is read first; environment variables override single
// settings, which is what containers need. This module only puts the steps in order.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { withDefaults } from './defaults.js';
import { readEnvironment } from './environment.js';
import { formatProblem, type ConfigProblem } from './problem.js';
import { resolveSettings } from './resolve.js';
import { SettingsSchema } from './schema.js';
import type { SchemaNode, Setting } from './settings.js';
import type { Config } from './types.js';
import { validateSettings } from './validate.js';

export type { AcmeConfig, AcmeValidationConfig, Config, ConnectionsConfig, CrlConfig, EstConfig, TokenIssuerConfig } from './types.js';
export { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, DEFAULT_TLS_CIPHERS } from './schema.js';
export { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from './resolve.js';
export type { ConfigProblem } from './problem.js';

/** `problems` are ready to print, one line each, and name each setting by file key and environment variable. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[]; details: readonly ConfigProblem[] };

type Raw = Record<string, unknown>;

const failed = (details: readonly ConfigProblem[]): ConfigResult => ({ ok: false, problems: details.map(formatProblem), details });

function readFile(file: string, cwd: string): { ok: true; raw: unknown } | { ok: false; problem: ConfigProblem } {
  const fail = (message: string) => ({ ok: false as const, problem: { key: '', source: { kind: 'file' as const, file }, message } });
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    return fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return { ok: true, raw: parseYaml(text) ?? {} };
  } catch (err) {
    // The yaml library appends a drawing of the line; the first line already names the place.
    return fail(`is not valid YAML: ${(err as Error).message.split('\n')[0]!.replace(/:$/, '')}`);
  }
}

function setPath(obj: Raw, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null || Array.isArray(cur[key])) cur[key] = {};
    cur = cur[key] as Raw;
  }
  cur[path[path.length - 1]!] = value;
}

/** Reads WORKLOAD_CA_CONFIG (if set) and `env` (nothing else); relative paths resolve against `cwd`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ConfigResult {
  const file = env.WORKLOAD_CA_CONFIG || null;
  let raw: unknown = {};
  if (file) {
    const read = readFile(file, cwd);
    if (!read.ok) return failed([read.problem]);
    raw = read.raw;
  }
  const fromEnv = readEnvironment(env);
  // Only a mapping can take the environment's values; the schema check below names anything else.
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const { setting, value } of fromEnv.values) setPath(raw as Raw, setting.path, value);
  }
  const fromEnvironment = new Set<Setting>(fromEnv.values.map((v) => v.setting));
  const checked = validateSettings(withDefaults(SettingsSchema as SchemaNode, raw), { file, fromEnvironment });
  const problems = [...fromEnv.problems, ...(checked.ok ? [] : checked.problems)];
  if (!checked.ok || problems.length > 0) return failed(problems);
  const resolved = resolveSettings(checked.settings, {
    cwd,
    file,
    fromEnvironment: new Set([...fromEnvironment].map((s) => s.key)),
  });
  return resolved.ok ? resolved : failed(resolved.problems);
}
