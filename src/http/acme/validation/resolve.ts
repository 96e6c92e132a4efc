// Name resolution for the validators. Answers are kept in the order they should be tried:
// IPv4 first, as most CAs do, because a host's IPv6 path is the one more often broken.

import type { ValidationContext } from './context.js';
import type { ValidationError } from './types.js';

export type Resolution<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValidationError };

interface DnsFailure {
  readonly code?: string;
}

function codeOf(reason: unknown): string {
  return (reason as DnsFailure | null)?.code ?? 'an unknown error';
}

/** Both "no such name" and "no records of this type": the name does not point anywhere. */
function isEmptyAnswer(code: string): boolean {
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

export async function resolveAddresses(ctx: ValidationContext, host: string): Promise<Resolution<readonly string[]>> {
  ctx.stage = { kind: 'dns', what: `looking up A and AAAA for ${host}` };
  const [v4, v6] = await Promise.allSettled([ctx.resolver.resolve4(host), ctx.resolver.resolve6(host)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (addresses.length > 0) return { ok: true, value: addresses };
  const codes = [v4, v6].map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'ENODATA'));
  if (codes.every(isEmptyAnswer)) {
    const what = codes.every((c) => c === 'ENOTFOUND') ? 'NXDOMAIN looking up A and AAAA for' : 'No A or AAAA records found for';
    return { ok: false, error: { type: 'dns', detail: `DNS problem: ${what} ${host}` } };
  }
  const code = codes.find((c) => !isEmptyAnswer(c))!;
  return { ok: false, error: { type: 'dns', detail: `DNS problem: ${code} looking up A and AAAA for ${host}` } };
}

/** TXT records of a name, each record's character-strings joined into one value (RFC 8555 §8.4). */
export async function resolveTxt(ctx: ValidationContext, name: string): Promise<Resolution<readonly string[]>> {
  ctx.stage = { kind: 'dns', what: `looking up TXT for ${name}` };
  try {
    const records = await ctx.resolver.resolveTxt(name);
    return { ok: true, value: records.map((chunks) => chunks.join('')) };
  } catch (reason) {
    const code = codeOf(reason);
    if (code === 'ENODATA') return { ok: true, value: [] };
    const what = code === 'ENOTFOUND' ? 'NXDOMAIN' : code;
    return { ok: false, error: { type: 'dns', detail: `DNS problem: ${what} looking up TXT for ${name}` } };
  }
}
