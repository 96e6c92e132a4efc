// The list of settings, read off the schema: each node carrying `env` is one setting, named by
// its file key. Everything else that needs "every setting" (environment parsing, problems,
// the README) walks this list, so a setting added to the schema is everywhere at once.

import { SettingsSchema, type SettingDoc } from './schema.js';

/** A JSON-schema node as this package reads it (TypeBox nodes are plain JSON schema). */
export interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly patternProperties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly description?: string;
  readonly keyName?: string;
  readonly env?: string;
}

/** How an environment variable's text becomes the setting's value. */
export type EnvFormat = 'text' | 'integer' | 'boolean' | 'list' | 'json' | 'integer-or-text' | 'boolean-or-json';

export interface Setting extends SettingDoc {
  /** The file key as a path: ['acme', 'validation', 'timeoutMs']. */
  readonly path: readonly string[];
  /** The file key as written in docs and problems: acme.validation.timeoutMs. */
  readonly key: string;
  readonly schema: SchemaNode;
  readonly format: EnvFormat;
}

function isSetting(node: SchemaNode): node is SchemaNode & SettingDoc {
  return typeof node.env === 'string';
}

function typesOf(node: SchemaNode): readonly string[] {
  if (node.type === undefined) return node.const !== undefined ? [typeof node.const] : [];
  return typeof node.type === 'string' ? [node.type] : node.type;
}

/** Derived from the schema, so an environment variable cannot disagree with its file key. */
function envFormatOf(node: SchemaNode): EnvFormat {
  if (node.anyOf) {
    const branches = node.anyOf.flatMap(typesOf);
    if (branches.includes('integer')) return 'integer-or-text';
    if (branches.includes('boolean') && branches.includes('object')) return 'boolean-or-json';
    return 'text';
  }
  const types = typesOf(node);
  if (types.includes('integer')) return 'integer';
  if (types.includes('boolean')) return 'boolean';
  if (types.includes('array')) return node.items && typesOf(node.items).includes('string') ? 'list' : 'json';
  if (types.includes('object')) return 'json';
  return 'text';
}

function collect(node: SchemaNode, path: readonly string[], out: Setting[]): void {
  if (isSetting(node)) {
    out.push({ ...node, path, key: path.join('.'), schema: node, format: envFormatOf(node) });
    return;
  }
  for (const [name, child] of Object.entries(node.properties ?? {})) collect(child, [...path, name], out);
}

/** Every setting, in schema order. */
export const SETTINGS: readonly Setting[] = (() => {
  const out: Setting[] = [];
  collect(SettingsSchema as SchemaNode, [], out);
  return out;
})();

/** The setting a value at this file path belongs to (the longest prefix that is a setting). */
export function settingAt(path: readonly string[]): Setting | undefined {
  let best: Setting | undefined;
  for (const s of SETTINGS) {
    if (s.path.length <= path.length && s.path.every((k, i) => path[i] === k) && (!best || s.path.length > best.path.length)) best = s;
  }
  return best;
}
