// The identifiers of a newOrder: DNS names only, each a plain host name, at most 100.

import { MAX_REQUESTED_SANS } from '../../pki/csr.js';
import { acmeError, fail, raise, type AcmeProblem } from './problems.js';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isHostName(name: string): boolean {
  if (name.length > 253 || !name.includes('.')) return false;
  return name.split('.').every((l) => LABEL.test(l));
}

/** Lower-cased, de-duplicated and sorted, or a problem listing every bad identifier. */
export function readIdentifiers(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) fail('malformed', '"identifiers" must be a non-empty array');
  const list = value as unknown[];
  if (list.length > MAX_REQUESTED_SANS) fail('rejectedIdentifier', `an order may name at most ${MAX_REQUESTED_SANS} identifiers`);
  const names = new Set<string>();
  const sub: NonNullable<AcmeProblem['subproblems']>[number][] = [];
  for (const item of list) {
    const o = item as { type?: unknown; value?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.value !== 'string' || typeof o.type !== 'string') {
      fail('malformed', 'each identifier must be an object with string "type" and "value"');
    }
    const v = o!.value as string;
    const identifier = { type: 'dns' as const, value: v };
    if (o!.type !== 'dns') {
      sub.push({ type: 'unsupportedIdentifier', detail: `identifier type ${JSON.stringify(o!.type)} is not supported; use "dns"`, identifier });
      continue;
    }
    const name = v.toLowerCase();
    if (name.startsWith('*.')) {
      sub.push({ type: 'rejectedIdentifier', detail: `${v}: wildcard certificates are not issued`, identifier });
    } else if (!isHostName(name)) {
      sub.push({ type: 'rejectedIdentifier', detail: `${JSON.stringify(v)} is not a valid host name`, identifier });
    } else {
      names.add(name);
    }
  }
  if (sub.length === 1) raise(acmeError(sub[0]!.type, sub[0]!.detail));
  if (sub.length > 1) raise(acmeError('compound', `${sub.length} identifiers cannot be ordered`, { subproblems: sub }));
  return [...names].sort();
}
