// Connecting to a name the way every validator does: resolve it, then try its addresses in
// order, moving on only when an address cannot be reached at all. Once a peer has answered, its
// answer is the result, good or bad; trying another address then would let a host pick the one
// that passes. An address the validation networks refuse counts as unreachable, and no socket is
// ever opened to it; this is the one place validators connect through, so redirects and every
// challenge type are covered.

import type { ValidationContext } from './context.js';
import { networkError, isConnectFailure } from './network-errors.js';
import { resolveAddresses, type Resolution } from './resolve.js';
import type { ValidationError } from './types.js';

export type Attempt<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValidationError; readonly unreachable: boolean };

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The failure of one attempt, from the error a socket emitted. */
export function attemptFailed(reason: unknown, where: string): Attempt<never> {
  return { ok: false, error: networkError(reason, where), unreachable: isConnectFailure(reason) };
}

export async function connectToName<T>(
  ctx: ValidationContext,
  host: string,
  what: string,
  attempt: (address: string) => Promise<Attempt<T>>,
): Promise<Resolution<T>> {
  const addresses = await resolveAddresses(ctx, host);
  if (!addresses.ok) return addresses;
  ctx.stage = { kind: 'connection', what };
  let last: Attempt<T> = { ok: false, unreachable: true, error: { type: 'dns', detail: `No addresses found for ${host}` } };
  for (const address of addresses.value) {
    ctx.lastAddress = address;
    const verdict = ctx.networks.check(address);
    if (!verdict.allowed) {
      last = { ok: false, unreachable: true, error: { type: 'connection', detail: `Refused to connect to ${host} (${what}): ${verdict.reason}` } };
      continue;
    }
    last = await attempt(address);
    if (last.ok || !last.unreachable || ctx.signal.aborted) break;
  }
  return last.ok ? last : { ok: false, error: last.error };
}
