// DNS names in `grant.dnsNames`: an exact name, or "*.suffix" for one or more labels under it.
//
// Requested names must be plain host names (letters, digits, hyphens; RFC 1123 labels). In
// particular a request for a wildcard certificate ("*.example.org") is refused rather than matched
// as if "*" were a label: a pattern says which names a workload may hold, not which wildcards.

import type { ValueRule } from './template.js';
import type { DnsMatcher } from './types.js';

const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** One RFC 1123 label; also the rule for a value substituted into a DNS pattern. */
export function isDnsLabel(s: string): boolean {
  return LABEL_RE.test(s);
}

/** What a value substituted into a DNS pattern must be: one label, so it cannot add a suffix. */
export const DNS_LABEL: ValueRule = Object.freeze({
  test: isDnsLabel,
  describe: 'a single DNS label (letters, digits and "-", at most 63)',
});

/** A host name of RFC 1123 labels, no trailing dot; checked in one pass without slicing. */
export function isHostname(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > 253) return false;
  let labelStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x2e : name.charCodeAt(i);
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return false;
      if (name.charCodeAt(labelStart) === 0x2d || name.charCodeAt(i - 1) === 0x2d) return false;
      labelStart = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) {
      return false;
    }
  }
  return true;
}

export type DnsMatcherResult = { readonly ok: true; readonly matcher: DnsMatcher } | { readonly ok: false; readonly reason: string };

export function compileDnsMatcher(pattern: string): DnsMatcherResult {
  const wildcard = pattern.startsWith('*.');
  const name = (wildcard ? pattern.slice(2) : pattern).toLowerCase();
  if (!isHostname(name)) {
    return {
      ok: false,
      reason: `${JSON.stringify(pattern)} is not a DNS name or "*." followed by one (a "*" may only stand first, for whole labels)`,
    };
  }
  return { ok: true, matcher: Object.freeze({ wildcard, name }) };
}

/** `name` must already be a valid host name in lower case. */
export function dnsMatches(m: DnsMatcher, name: string): boolean {
  if (!m.wildcard) return name === m.name;
  const cut = name.length - m.name.length - 1;
  return cut > 0 && name.charCodeAt(cut) === 0x2e && name.endsWith(m.name);
}
