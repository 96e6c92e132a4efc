// Where ACME's protocol state lives in each mode: Postgres and Redis shared by every replica in
// production; the primary's PGlite and memory in the embedded mode, reached over IPC by workers.

import type { Worker } from 'node:cluster';
import { RedisSharedState } from '../http/acme/redis-state.js';
import { MemorySharedState, SHARED_STATE_METHODS, type SharedState } from '../http/acme/shared-state.js';
import { SqlAcmeStore } from '../http/acme/sql-store.js';
import { ACME_STORE_METHODS, type AcmeStore } from '../http/acme/store.js';
import { openPostgresLedger } from '../ledger/postgres.js';
import type { SqlClient } from '../ledger/sql.js';
import { rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import type { Revoked } from '../revocation/set.js';

export interface AcmeState {
  readonly store: AcmeStore;
  readonly state: SharedState;
  close(): Promise<void>;
}

type RemoteState = Omit<SharedState, 'close'>;

const STORE_SERVICE = 'acme-store';
const STATE_SERVICE = 'acme-state';

/** The embedded primary's: the ledger's own PGlite and this process's memory. */
export function embeddedAcmeState(db: SqlClient): AcmeState {
  const state = new MemorySharedState();
  return { store: new SqlAcmeStore(db), state, close: () => state.close() };
}

/** A production replica's: its own pool (ACME is chattier than the ledger reads) and Redis. */
export function productionAcmeState(databaseUrl: string, redisUrl: string, redisPrefix: string): AcmeState {
  const db = openPostgresLedger(databaseUrl, { max: 8, applicationName: 'workload-ca acme' });
  const state = new RedisSharedState(redisUrl, redisPrefix);
  return {
    store: new SqlAcmeStore(db),
    state,
    async close() {
      await state.close();
      await db.close();
    },
  };
}

/** An embedded worker's: proxies to the primary. */
export function ipcAcmeState(): AcmeState {
  // close() stays local: a worker closing its proxy must not close the primary's state.
  const state = { ...rpcClient<RemoteState, typeof SHARED_STATE_METHODS>(STATE_SERVICE, SHARED_STATE_METHODS), close: async () => undefined };
  return { store: rpcClient<AcmeStore, typeof ACME_STORE_METHODS>(STORE_SERVICE, ACME_STORE_METHODS), state, close: async () => undefined };
}

export function serveAcmeOverIpc(worker: Worker, acme: AcmeState): void {
  serveRpc<AcmeStore, typeof ACME_STORE_METHODS>(worker, STORE_SERVICE, acme.store, ACME_STORE_METHODS);
  serveRpc<RemoteState, typeof SHARED_STATE_METHODS>(worker, STATE_SERVICE, acme.state, SHARED_STATE_METHODS);
}

/**
 * Every revocation is written through the store's `revoke` (ACME revokeCert, operators); once the
 * rows and their event are committed, each certificate is published so every serving process
 * refuses it within a second.
 */
export function withRevocationPublishing(acme: AcmeState, publish: (r: Revoked) => Promise<void>): AcmeState {
  const store = acme.store;
  const revoke: AcmeStore['revoke'] = async (r) => {
    const result = await store.revoke(r);
    // Targets revoked before are published again: harmless, and it heals a publish that failed
    // the first time. A bounded number at once: a namespace may hold thousands.
    for (let i = 0; i < r.targets.length; i += PUBLISH_BATCH) {
      await Promise.all(
        r.targets.slice(i, i + PUBLISH_BATCH).map((t) => publish({ issuerKeyId: t.issuerKeyId, serial: t.serial, notAfter: t.notAfter })),
      );
    }
    return result;
  };
  // Every other method stays the store's own, bound to it.
  const wrapped = new Proxy(store, {
    get: (target, prop, receiver) => (prop === 'revoke' ? revoke : (Reflect.get(target, prop, receiver) as unknown)),
  });
  return { ...acme, store: wrapped };
}

const PUBLISH_BATCH = 64;
