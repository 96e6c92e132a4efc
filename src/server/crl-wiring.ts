// Where each mode's CRLs are signed and how every serving process gets them: in production each
// process runs a publisher (the advisory lock picks who signs) and looks again whenever it hears
// of a revocation; in the embedded mode the primary signs and pushes to its workers.

import { loadCa } from '../ca/ceremony.js';
import { pushCrlToWorkers, ipcCrlCatalog } from '../ca/crl-ipc.js';
import { CrlPublisher, type CrlPublisherOptions, type CrlService } from '../ca/crl-publisher.js';
import type { Config } from '../config/config.js';
import type { SqlClient } from '../ledger/sql.js';
import { keyObjectSigner, type Signer } from '../pki/signer.js';
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

/** Embedded primary: the one signer, with the issuing key loaded the way a replica loads it. */
export async function startEmbeddedCrls(config: Config, db: SqlClient, feed: RevocationFeed): Promise<CrlPublisher> {
  const ca = loadCa(config.ca, config.ca.passphrase);
  const publisher = await startPublisher(config, db, keyObjectSigner(ca.issuingDer, ca.issuingKey), pushCrlToWorkers);
  await feed.subscribe(
    () => publisher.poke(),
    () => publisher.poke(),
  );
  return publisher;
}

/** A serving process in the embedded primary shares its publisher, which outlives it. */
export function sharedCrls(publisher: CrlPublisher): CrlFactory {
  return async () => ({ current: (issuerKeyId) => publisher.current(issuerKeyId), close: async () => undefined });
}

/** An embedded worker serves the copies its primary pushes. */
export function workerCrls(warn: (message: string) => void): CrlFactory {
  return () => ipcCrlCatalog(warn);
}
