// Embedded mode: the primary owns the database, so every revocation is written there (workers
// reach the ACME store over IPC) and the primary pushes it to every worker. A push, not polling:
// it arrives in well under a millisecond, costs nothing while nothing is revoked, and, sent
// before the answer to the worker's own revoke call, reaches that worker before its reply does.

import cluster from 'node:cluster';
import { onPush, pushToWorkers, rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import type { Worker } from 'node:cluster';
import type { RevocationFeed } from './feed.js';
import type { RevocationSource } from './sql-source.js';
import { parseRevoked, type Revoked } from './set.js';

const TOPIC = 'revocation';
const SERVICE = 'revocations';
const METHODS = ['list'] as const;

/** The primary's feed: publishing pushes to every worker and to listeners in this process. */
export class PrimaryRevocationFeed implements RevocationFeed {
  private readonly local = new Set<(r: Revoked) => void>();

  async subscribe(deliver: (r: Revoked) => void): Promise<void> {
    this.local.add(deliver);
  }

  async publish(r: Revoked): Promise<void> {
    for (const deliver of this.local) deliver(r);
    pushToWorkers(Object.values(cluster.workers ?? {}), TOPIC, r);
  }

  async close(): Promise<void> {
    this.local.clear();
  }
}

/** A worker's feed: listens to the primary. It never publishes: the primary writes revocations. */
export class WorkerRevocationFeed implements RevocationFeed {
  private stop: (() => void) | null = null;

  constructor(private readonly warn: (message: string) => void) {}

  async subscribe(deliver: (r: Revoked) => void): Promise<void> {
    this.stop = onPush(TOPIC, (payload) => {
      const parsed = parseRevoked(payload);
      if (parsed.ok) deliver(parsed.revoked);
      else this.warn(`revocation push ignored: ${parsed.reason}`);
    });
  }

  async publish(): Promise<void> {
    // Nothing to do: in the embedded mode only the primary writes revocations, and it pushes them.
  }

  async close(): Promise<void> {
    this.stop?.();
  }
}

/** A worker's source for its initial load and reconciles: the primary's, over IPC. */
export function ipcRevocationSource(): RevocationSource {
  return rpcClient<RevocationSource, typeof METHODS>(SERVICE, METHODS);
}

export function serveRevocationsOverIpc(worker: Worker, source: RevocationSource): void {
  serveRpc<RevocationSource, typeof METHODS>(worker, SERVICE, source, METHODS);
}
