// What one validation carries through its steps: the settings, the resolver, the deadline, and
// a note of what it is doing now so that a timeout can say where the time went.

import { Resolver } from 'node:dns/promises';
import type { ValidationNetworks } from './networks.js';
import type { ValidationSettings } from './types.js';

export interface ValidationContext {
  readonly settings: ValidationSettings;
  readonly resolver: Resolver;
  /** Checked before every connection: each resolved address of each hop. */
  readonly networks: ValidationNetworks;
  /** The last address connected to or refused, for the outcome and its log line. */
  lastAddress: string | null;
  /** Aborted when the deadline passes or the validation is over; every socket listens to it. */
  readonly signal: AbortSignal;
  stage: { readonly kind: 'dns' | 'connection'; readonly what: string };
}

export function createResolver(settings: ValidationSettings, signal: AbortSignal): Resolver {
  // c-ares rather than getaddrinfo even for the system resolver: it can be cancelled at the
  // deadline, and a slow lookup does not hold one of the libuv pool threads that issuance signs on.
  const resolver = new Resolver({ timeout: Math.min(settings.timeoutMs, 2000), tries: 3 });
  if (settings.resolver !== null) resolver.setServers([settings.resolver]);
  signal.addEventListener('abort', () => resolver.cancel(), { once: true });
  return resolver;
}
