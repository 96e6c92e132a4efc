// Development tokens for the bench, minted with the real `workload-ca token` command: distinct
// namespaces and service accounts, so per-identity caching cannot serve one answer to all.

import { join } from 'node:path';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.js';
import { devTokenMinter } from '../../src/dev/token-issuer.js';
import { spiffeIdFor, type Credential } from '../../test/support/workload.js';
import type { EmbeddedServer, Identity } from './embedded-server.js';

/** Longer than any run (the soak included), so no token expires mid-run. */
const TOKEN_TTL_SECONDS = 4 * 3600;
/** Each `token` call is a fresh Node process; a few at a time keeps preparation short. */
const MINT_PARALLELISM = 4;

export async function mintCredentials(server: EmbeddedServer, count: number, trustDomain: string): Promise<Credential[]> {
  const identities: Identity[] = Array.from({ length: count }, (_, i) => identityOf(i));
  const tokens = await mapLimit(identities, MINT_PARALLELISM, (id) => server.mintToken(id, TOKEN_TTL_SECONDS));
  return identities.map((id, i) => ({ token: tokens[i]!, expectedSpiffeId: spiffeIdFor(trustDomain, id.namespace, id.serviceAccount) }));
}

function identityOf(i: number): Identity {
  return { namespace: `bench-ns-${String(i).padStart(2, '0')}`, serviceAccount: `agent-${String(i).padStart(2, '0')}` };
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

/**
 * Fresh-token mode: one newly minted token per request, as a fleet of workloads each holding its
 * own token sends them, so no server-side cache of verified tokens can answer. Minted in this
 * process with the development issuer's key before the clock starts, over the same identities.
 */
export class FreshTokens {
  private pool: Credential[] = [];
  private cursor = 0;
  /** Requests that found the pool empty (they are sent as errors, never with a reused token). */
  exhausted = 0;

  constructor(
    private readonly dataDir: string,
    private readonly identities: number,
    private readonly trustDomain: string,
  ) {}

  /** Replaces the pool with `count` new tokens; minted before a level's clock starts. */
  refill(count: number): void {
    const mint = devTokenMinter(join(this.dataDir, 'dev-token-issuer'));
    const pool: Credential[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const id = identityOf(i % this.identities);
      const token = mint({ issuer: DEV_TOKEN_ISSUER, audience: DEV_TOKEN_AUDIENCE, ...id, ttlSeconds: TOKEN_TTL_SECONDS });
      pool[i] = { token, expectedSpiffeId: spiffeIdFor(this.trustDomain, id.namespace, id.serviceAccount) };
    }
    this.pool = pool;
    this.cursor = 0;
    this.exhausted = 0;
  }

  /** The next unused token, or null once every one has been sent. */
  take(): Credential | null {
    if (this.cursor >= this.pool.length) {
      this.exhausted++;
      return null;
    }
    return this.pool[this.cursor++]!;
  }
}
