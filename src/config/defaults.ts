// Fills in the schema's `default` keywords, so a value missing from the file and the environment
// gets the one default written in schema.ts. Groups default to {} and are then filled in turn.

import type { SchemaNode } from './settings.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Returns `value` with defaults in place; `value` must be the caller's own copy (it is changed). */
export function withDefaults(node: SchemaNode, value: unknown): unknown {
  let v = value === undefined && node.default !== undefined ? structuredClone(node.default) : value;
  // A union (devTokenIssuer) gets the defaults of its object branch when it is an object.
  const shape = isObject(v) ? (node.anyOf?.find((b) => b.type === 'object') ?? node) : node;
  if (isObject(v)) {
    for (const [k, child] of Object.entries(shape.properties ?? {})) {
      const filled = withDefaults(child, v[k]);
      if (filled !== undefined) v[k] = filled;
    }
    const entry = Object.values(shape.patternProperties ?? {})[0];
    if (entry) for (const k of Object.keys(v)) v[k] = withDefaults(entry, v[k]);
  } else if (Array.isArray(v) && shape.items) {
    const items = shape.items;
    v = v.map((item) => withDefaults(items, item));
  }
  return v;
}
