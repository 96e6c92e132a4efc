// The README's settings tables, written from the schema. `npm run docs:config` rewrites them in
// README.md; a unit test fails while README.md differs from what this module writes, so the
// tables cannot drift from the settings the CA actually reads.

import { SETTINGS, type EnvFormat, type SchemaNode, type Setting } from './settings.js';

/** Which settings a table in the README lists, by the name in its marker. */
export const TABLES: Readonly<Record<string, (s: Setting) => boolean>> = {
  general: (s) => s.path[0] !== 'acme' && s.path[0] !== 'est',
  acme: (s) => s.path[0] === 'acme',
  est: (s) => s.path[0] === 'est',
};

const FORMAT_NOTE: Record<EnvFormat, string> = {
  text: '',
  integer: '',
  'integer-or-text': '',
  boolean: '',
  list: ' (comma-separated)',
  json: ' (JSON)',
  'boolean-or-json': ' (`true`, `false` or JSON)',
};

const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');

function defaultText(node: SchemaNode & { docDefault?: string }, required: boolean): string {
  if (node.docDefault !== undefined) return node.docDefault;
  const d = node.default;
  if (d === undefined || d === null) return required ? 'required' : 'none';
  if (Array.isArray(d)) return d.length === 0 ? 'none' : d.map(code).join(', ');
  if (typeof d === 'object') return Object.keys(d).length === 0 ? 'none' : code(d);
  return code(d);
}

function row(key: string, env: string, node: SchemaNode & { docDefault?: string }, required = false): string {
  return `| ${code(key)} | ${env} | ${cell(defaultText(node, required))} | ${cell(node.description ?? '')} |`;
}

/** The parts of a structured setting (tokenIssuers[].issuer), each set inside the setting's value. */
function partRows(s: Setting): string[] {
  const n = s.schema;
  const parts: Array<[string, SchemaNode & { required?: readonly string[] }]> = [];
  if (n.items?.properties) parts.push([`${s.key}[]`, n.items]);
  for (const entry of Object.values(n.patternProperties ?? {})) parts.push([`${s.key}.${n.keyName ?? '<name>'}`, entry]);
  for (const branch of n.anyOf ?? []) if (branch.properties) parts.push([s.key, branch]);
  return parts.flatMap(([prefix, object]) =>
    Object.entries(object.properties ?? {})
      .filter(([, p]) => p.description !== undefined)
      .map(([name, p]) => row(`${prefix}.${name}`, `in \`${s.env}\``, p, object.required?.includes(name) ?? false)),
  );
}

export function settingsTable(include: (s: Setting) => boolean): string {
  const rows = SETTINGS.filter(include).flatMap((s) => [row(s.key, `\`${s.env}\`${FORMAT_NOTE[s.format]}`, s.schema), ...partRows(s)]);
  return ['| file key | environment | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const BLOCK = /(<!-- settings table: (\w+)[^>]*-->\n)[\s\S]*?(\n<!-- end of settings table -->)/g;

/** README.md with every marked settings table rewritten; unknown table names are an error, not a silent skip. */
export function withSettingsTables(readme: string): { ok: true; text: string } | { ok: false; problem: string } {
  let unknown: string | null = null;
  const text = readme.replace(BLOCK, (_all, open: string, name: string, close: string) => {
    const include = TABLES[name];
    if (!include) {
      unknown = name;
      return _all;
    }
    return `${open}${settingsTable(include)}${close}`;
  });
  if (unknown !== null)
    return { ok: false, problem: `README.md marks a settings table named ${JSON.stringify(unknown)}; known: ${Object.keys(TABLES).join(', ')}` };
  return { ok: true, text };
}
