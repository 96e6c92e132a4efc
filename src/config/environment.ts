// Environment variables to settings. Each setting's variable and its text format come from the
// schema (settings.ts), so the file and the environment accept the same things.

import type { ConfigProblem } from './problem.js';
import { SETTINGS, type EnvFormat, type Setting } from './settings.js';

export interface EnvValue {
  readonly setting: Setting;
  readonly value: unknown;
}

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

function parseBoolean(text: string): Parsed | null {
  if (TRUE.test(text)) return { ok: true, value: true };
  if (FALSE.test(text)) return { ok: true, value: false };
  return null;
}

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, message: `must be JSON (${(err as Error).message})` };
  }
}

function parseEnvText(text: string, format: EnvFormat, expected?: string): Parsed {
  switch (format) {
    case 'text':
      return { ok: true, value: text };
    case 'integer':
      return /^\d+$/.test(text) ? { ok: true, value: Number(text) } : { ok: false, message: 'must be a whole number' };
    // The schema then says whether the text is one it accepts (workers: "auto").
    case 'integer-or-text':
      return { ok: true, value: /^\d+$/.test(text) ? Number(text) : text };
    // A typo must not silently mean false: that could turn off a check (acme.externalAccountRequired).
    case 'boolean':
      return parseBoolean(text) ?? { ok: false, message: 'must be true or false (also 1/0, yes/no, on/off)' };
    case 'boolean-or-json':
      return (
        parseBoolean(text) ??
        (text.trim().startsWith('{') ? parseJson(text) : { ok: false, message: `must be ${expected ?? 'true, false or a JSON object'}` })
      );
    case 'list':
      return {
        ok: true,
        value: text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    case 'json':
      return parseJson(text);
  }
}

/** The settings the environment sets; an empty variable counts as unset. */
export function readEnvironment(env: NodeJS.ProcessEnv): { values: EnvValue[]; problems: ConfigProblem[] } {
  const values: EnvValue[] = [];
  const problems: ConfigProblem[] = [];
  for (const setting of SETTINGS) {
    const text = env[setting.env];
    if (text === undefined || text === '') continue;
    const parsed = parseEnvText(text, setting.format, setting.expected);
    if (parsed.ok) values.push({ setting, value: parsed.value });
    else problems.push({ key: setting.key, setting, source: { kind: 'environment' }, message: parsed.message, value: text });
  }
  return { values, problems };
}
