// Checks settings against the schema and turns ajv's errors into problems that name the setting
// (file key and environment variable) and, unless it is a secret, the value that was refused.

import { Ajv, type ErrorObject } from 'ajv';
import { ANNOTATION_KEYWORDS, SettingsSchema, type Settings } from './schema.js';
import { keyOf, type ConfigProblem, type ProblemSource } from './problem.js';
import { settingAt, type Setting } from './settings.js';

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true });
ajv.addVocabulary([...ANNOTATION_KEYWORDS]);
const check = ajv.compile<Settings>(SettingsSchema);

export interface Origin {
  /** The file named by WORKLOAD_CA_CONFIG, if any. */
  readonly file: string | null;
  /** Settings whose value came from the environment. */
  readonly fromEnvironment: ReadonlySet<Setting>;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  string: 'text',
  array: 'a list',
  object: 'a mapping of keys to values',
};

function pathOf(instancePath: string): string[] {
  return instancePath === ''
    ? []
    : instancePath
        .slice(1)
        .split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The file key and the words for one ajv error; null for errors another one already says. */
function describe(e: ErrorObject): { path: string[]; message: string; showValue: boolean } | null {
  const path = pathOf(e.instancePath);
  const params = e.params as Record<string, unknown>;
  const expected = (e.parentSchema as { expected?: string } | undefined)?.expected;
  switch (e.keyword) {
    case 'type': {
      const types = String(params.type)
        .split(',')
        .filter((t) => t !== 'null');
      return { path, message: `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`, showValue: true };
    }
    case 'minimum':
      return { path, message: `must be at least ${String(params.limit)}`, showValue: true };
    case 'maximum':
      return { path, message: `must be at most ${String(params.limit)}`, showValue: true };
    case 'minLength':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters`, showValue: true };
    case 'maxLength':
      return { path, message: `must be at most ${String(params.limit)} characters`, showValue: false };
    case 'minItems':
      return { path, message: `must have at least ${String(params.limit)} ${params.limit === 1 ? 'entry' : 'entries'}`, showValue: false };
    case 'pattern':
      // Inside propertyNames: the key is the offending thing, not a value.
      if (e.propertyName !== undefined)
        return { path: [...path, e.propertyName], message: `is not a valid name (must match ${String(params.pattern)})`, showValue: false };
      return { path, message: expected ? `must be ${expected}` : `must match ${String(params.pattern)}`, showValue: true };
    case 'propertyNames':
      return null;
    case 'required':
      return { path: [...path, String(params.missingProperty)], message: 'is required', showValue: false };
    case 'additionalProperties':
      return {
        path: [...path, String(params.additionalProperty)],
        message: path.length === 0 || !settingAt(path) ? 'is not a setting' : 'is not a known key',
        showValue: false,
      };
    case 'anyOf':
    case 'oneOf':
      return { path, message: expected ? `must be ${expected}` : (e.message ?? 'is invalid'), showValue: true };
    default:
      return { path, message: e.message ?? 'is invalid', showValue: true };
  }
}

/**
 * A union's own error says what it accepts, where its branches' errors would only list the
 * branches. But when the value has the right shape and a part of it is wrong
 * (devTokenIssuer.maxTokenLifetimeSeconds: 5), the errors about that part say more.
 */
function preferred(errors: readonly ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const drop = new Set<ErrorObject>();
  for (const u of unions) {
    const branches = errors.filter((e) => e !== u && e.schemaPath.startsWith(`${u.schemaPath}/`));
    const inner = branches.filter((e) => e.instancePath !== u.instancePath);
    for (const e of branches) if (inner.length === 0 || !inner.includes(e)) drop.add(e);
    if (inner.length > 0) drop.add(u);
  }
  return errors.filter((e) => !drop.has(e));
}

export function validateSettings(raw: unknown, origin: Origin): { ok: true; settings: Settings } | { ok: false; problems: ConfigProblem[] } {
  if (check(raw)) return { ok: true, settings: raw };
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of preferred(check.errors ?? [])) {
    const d = describe(e);
    if (!d) continue;
    const key = keyOf(d.path);
    if (seen.has(`${key}\0${d.message}`)) continue;
    seen.add(`${key}\0${d.message}`);
    const setting = settingAt(d.path);
    const source: ProblemSource = setting && origin.fromEnvironment.has(setting) ? { kind: 'environment' } : { kind: 'file', file: origin.file };
    problems.push({ key, source, message: d.message, ...(setting ? { setting } : {}), ...(d.showValue ? { value: e.data } : {}) });
  }
  return { ok: false, problems };
}
