// Keeps one process's revocation set current: listen first, then load (so nothing published in
// between is lost), then reconcile on a period so a missed message is caught.

import type { RevocationFeed } from './feed.js';
import type { RevocationSource } from './sql-source.js';
import { RevocationSet, type RevocationCheck, type Revoked } from './set.js';

/** Long enough to cost the database nothing; the feed, not this, keeps replicas within a second. */
export const RECONCILE_MS = 30_000;

export interface RevocationHealth {
  readonly ok: boolean;
  readonly detail: string;
}

export interface Revocations extends RevocationCheck {
  /** Enforced here at once, then published to the other processes. */
  publish(r: Revoked): Promise<void>;
  /**
   * Whether this process can still be trusted to refuse what another replica revoked: its feed
   * is listening, and a reconcile has succeeded lately (so a message missed while the feed was
   * down has been caught). For /readyz: a replica that cannot keep up should take no traffic.
   */
  health(): RevocationHealth;
  /** Calls `listener` with each revocation this process learns of (published here or received). */
  onRevoked(listener: (r: Revoked) => void): void;
  close(): Promise<void>;
}

export interface KeeperOptions {
  readonly source: RevocationSource;
  readonly feed: RevocationFeed;
  readonly warn: (message: string) => void;
  readonly reconcileMs?: number;
  readonly now?: () => number;
}

/** Resolves once the revocations of every unexpired certificate are loaded; fails if they cannot be. */
export async function startRevocations(opts: KeeperOptions): Promise<Revocations> {
  const set = new RevocationSet();
  const listeners = new Set<(r: Revoked) => void>();
  const learn = (r: Revoked): void => {
    set.add(r);
    for (const listener of listeners) listener(r);
  };
  const now = opts.now ?? Date.now;
  const period = opts.reconcileMs ?? RECONCILE_MS;
  let reconciledAt = 0;
  const reconcile = async (): Promise<void> => {
    const list = await opts.source.list();
    set.merge(list, now());
    reconciledAt = now();
  };
  const reconcileLogged = (): void =>
    void reconcile().catch((err: Error) => opts.warn(`revocations: reconcile failed, retrying in ${period} ms: ${err.message}`));

  await opts.feed.subscribe(learn, reconcileLogged);
  await reconcile();
  const timer = setInterval(reconcileLogged, period);
  timer.unref();

  return {
    isRevoked: (issuerKeyId, serial) => set.isRevoked(issuerKeyId, serial),
    async publish(r) {
      learn(r);
      // The revocation is already durable in the database; a feed that fails delays the other
      // processes until their next reconcile, and is not the revoker's error.
      await opts.feed.publish(r).catch((err: Error) => opts.warn(`revocations: publishing ${r.serial} failed: ${err.message}`));
    },
    health() {
      if (opts.feed.listening?.() === false) return { ok: false, detail: 'revocation feed is not listening (Redis unreachable?)' };
      // Two missed periods in a row, not one: a single slow query is no reason to leave rotation.
      const age = now() - reconciledAt;
      if (age > 2 * period + period / 2) return { ok: false, detail: `revocations last reconciled ${Math.round(age / 1000)} s ago` };
      return { ok: true, detail: 'revocations current' };
    },
    onRevoked: (listener) => void listeners.add(listener),
    async close() {
      listeners.clear();
      clearInterval(timer);
      await opts.feed.close();
    },
  };
}
