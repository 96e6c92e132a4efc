// How a revocation made in one process reaches the others: Redis pub/sub between production
// replicas, node:cluster IPC from the embedded primary to its workers.

import type { Revoked } from './set.js';

export interface RevocationFeed {
  /**
   * Delivers every revocation published from now on. `resync` is called when messages may have
   * been missed (a reconnect), so the caller reconciles at once instead of at the next period.
   * Resolves once listening.
   */
  subscribe(deliver: (r: Revoked) => void, resync: () => void): Promise<void>;
  publish(r: Revoked): Promise<void>;
  /**
   * False while messages cannot arrive (a lost Redis connection). A feed that cannot lose its
   * link (IPC within one machine) leaves this out.
   */
  listening?(): boolean;
  close(): Promise<void>;
}
