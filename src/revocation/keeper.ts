// Keeps one process's revocation set current: listen first, then load (so nothing published in
// between is lost), then reconcile on a period so a missed message is caught.

import type { RevocationFeed } from './feed.js';
import type { RevocationSource } from './sql-source.js';
import { RevocationSet, type RevocationCheck, type Revoked } from './set.js';

/** Long enough to cost the database nothing; the feed, not this, keeps replicas within a second. */
export const RECONCILE_MS = 30_000;

export interface Revocations extends RevocationCheck {
  /** Enforced here at once, then published to the other processes. */
  publish(r: Revoked): Promise<void>;
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
  const now = opts.now ?? Date.now;
  const reconcile = async (): Promise<void> => set.merge(await opts.source.list(), now());
  const reconcileLogged = (): void =>
    void reconcile().catch((err: Error) =>
      opts.warn(`revocations: reconcile failed, retrying in ${opts.reconcileMs ?? RECONCILE_MS} ms: ${err.message}`),
    );

  await opts.feed.subscribe((r) => set.add(r), reconcileLogged);
  await reconcile();
  const timer = setInterval(reconcileLogged, opts.reconcileMs ?? RECONCILE_MS);
  timer.unref();

  return {
    isRevoked: (issuerKeyId, serial) => set.isRevoked(issuerKeyId, serial),
    async publish(r) {
      set.add(r);
      // The revocation is already durable in the database; a feed that fails delays the other
      // processes until their next reconcile, and is not the revoker's error.
      await opts.feed.publish(r).catch((err: Error) => opts.warn(`revocations: publishing ${r.serial} failed: ${err.message}`));
    },
    async close() {
      clearInterval(timer);
      await opts.feed.close();
    },
  };
}
