// Where each mode's CRLs are signed and how every serving process gets them: in production each
// process runs a publisher (the advisory lock picks who signs) and looks again whenever it hears
// of a revocation; in the embedded mode the primary signs and pushes to its workers.

import { openSigner } from '../ca/open-signer.js';
import { pushCrlToWorkers, ipcCrlCatalog } from '../ca/crl-ipc.js';
import { CrlPublisher, type CrlPublisherOptions, type CrlService } from '../ca/crl-publisher.js';
import type { Config } from '../config/config.js';
import type { SqlClient } from '../ledger/sql.js';
import type { Signer } from '../pki/signer.js';
import type { RevocationFeed } from '../revocation/feed.js';
import type { Revocations } from '../revocation/keeper.js';
import { createLogger } from './logger.js';

export type CrlFactory = (signer: Signer) => Promise<CrlService>;

function startPublisher(config: Config, db: SqlClient, signer: Signer, onLoaded?: CrlPublisherOptions['onLoaded']): Promise<CrlPublisher> {
  const log = createLogger(config.logLevel);
  return CrlPublisher.start({
    db,
    signer,
    timing: config.crl,
    pollSeconds: config.crl.pollSeconds,
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    ...(onLoaded && { onLoaded }),
  });
}

/** Production: this process signs when it holds the lock, and serves what is in the database. */
export function productionCrls(config: Config, db: SqlClient, revocations: Pick<Revocations, 'onRevoked'>): CrlFactory {
  return async (signer) => {
    const publisher = await startPublisher(config, db, signer);
    revocations.onRevoked(() => publisher.poke());
    return publisher;
  };
}

/** What the embedded primary keeps: the CRLs, and all of them for a worker that starts. */
export type EmbeddedCrls = CrlService & Pick<CrlPublisher, 'all'>;

/**
 * Embedded primary: the one CRL signer, with a signer of its own opened the way a replica opens
 * its (the workers hold theirs; a key in an HSM is reached through a session of its own).
 */
export async function startEmbeddedCrls(config: Config, db: SqlClient, feed: RevocationFeed): Promise<EmbeddedCrls> {
  const signer = await openSigner(config);
  const publisher = await startPublisher(config, db, signer, pushCrlToWorkers);
  await feed.subscribe(
    () => publisher.poke(),
    () => publisher.poke(),
  );
  return {
    current: (issuerKeyId) => publisher.current(issuerKeyId),
    all: () => publisher.all(),
    async close() {
      await publisher.close();
      await signer.close();
    },
  };
}

/** A serving process in the embedded primary shares its publisher, which outlives it. */
export function sharedCrls(publisher: Pick<CrlService, 'current'>): CrlFactory {
  return async () => ({ current: (issuerKeyId) => publisher.current(issuerKeyId), close: async () => undefined });
}

/** An embedded worker serves the copies its primary pushes. */
export function workerCrls(warn: (message: string) => void): CrlFactory {
  return () => ipcCrlCatalog(warn);
}
