// Development tokens for the bench, minted with the real `workload-ca token` command: distinct
// namespaces and service accounts, so per-identity caching cannot serve one answer to all.

import { spiffeIdFor, type Credential } from '../../test/support/workload.js';
import type { EmbeddedServer, Identity } from './embedded-server.js';

/** Longer than any run (the soak included), so no token expires mid-run. */
const TOKEN_TTL_SECONDS = 4 * 3600;
/** Each `token` call is a fresh Node process; a few at a time keeps preparation short. */
const MINT_PARALLELISM = 4;

export async function mintCredentials(server: EmbeddedServer, count: number, trustDomain: string): Promise<Credential[]> {
  const identities: Identity[] = Array.from({ length: count }, (_, i) => ({
    namespace: `bench-ns-${String(i).padStart(2, '0')}`,
    serviceAccount: `agent-${String(i).padStart(2, '0')}`,
  }));
  const tokens = await mapLimit(identities, MINT_PARALLELISM, (id) => server.mintToken(id, TOKEN_TTL_SECONDS));
  return identities.map((id, i) => ({ token: tokens[i]!, expectedSpiffeId: spiffeIdFor(trustDomain, id.namespace, id.serviceAccount) }));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
