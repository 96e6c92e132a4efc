// `workload-ca serve`: the primary prepares what the mode needs; workers (one per core by
// default) serve HTTPS on the shared listening socket.
//
// Embedded mode: the primary owns the PGlite ledger; workers send it their audit events and
// inventory queries over IPC. Production mode (REDIS_URL and DATABASE_URL): every serving process
// has its own BullMQ producer and Postgres pool; the primary only supervises.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import client from 'prom-client';
import type { Config } from '../config/config.js';
import type { AuditSink } from '../audit/event.js';
import { BullMqAuditSink } from '../audit/bullmq-sink.js';
import { GroupCommitSink } from '../audit/group-commit.js';
import { IpcAuditSink, serveAuditOverIpc } from '../audit/ipc.js';
import { formatProblems, loadPolicyFile } from '../issuance/policy-store.js';
import { SqlLedgerReader, type LedgerReader } from '../ledger/inventory.js';
import { ipcLedgerReader, serveLedgerOverIpc } from '../ledger/ipc-reader.js';
import { SqlDashboardReader, type DashboardReader } from '../ledger/dashboard-queries.js';
import { ipcDashboardReader, serveDashboardOverIpc } from '../ledger/dashboard-ipc.js';
import { migrate, readMigrations } from '../ledger/migrate.js';
import { openEmbeddedLedger } from '../ledger/pglite.js';
import { openPostgresLedger } from '../ledger/postgres.js';
import type { SqlClient } from '../ledger/sql.js';
import { recordEvents } from '../audit/record.js';
import { prepareDataDir, prepareProduction } from './embedded.js';
import { checkCaAtStart } from './ca-start.js';
import { describeTightened, describeUntightened, tightenDataDir } from '../files/private-data.js';
import { startReplica, type Replica } from './replica.js';
import { baseUrl, displayPath, firstSvidHelp } from './banner.js';
import { checkRedisDurability } from './redis-settings.js';
import { acmeStartProblems } from '../http/acme/start-check.js';
import { embeddedAcmeState, ipcAcmeState, productionAcmeState, serveAcmeOverIpc, type AcmeState } from './acme-state.js';
import { clusterMetricsClient, serveClusterMetrics, type MetricsText } from './cluster-metrics.js';
import { withRevocationPublishing } from './acme-state.js';
import { startRevocations, type Revocations } from '../revocation/keeper.js';
import { PrimaryRevocationFeed, WorkerRevocationFeed, ipcRevocationSource, serveRevocationsOverIpc } from '../revocation/ipc-feed.js';
import { RedisRevocationFeed } from '../revocation/redis-feed.js';
import { sqlRevocationSource, type RevocationSource } from '../revocation/sql-source.js';
import type { EmbeddedCrls } from './crl-wiring.js';
import { serveCrlsOverIpc } from '../ca/crl-ipc.js';
import { crlDistributionPointProblems } from '../ca/crl-url.js';
import { productionCrls, sharedCrls, startEmbeddedCrls, workerCrls, type CrlFactory } from './crl-wiring.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export type Mode = { kind: 'embedded' } | { kind: 'production'; databaseUrl: string; redisUrl: string };

export function modeOf(config: Config): Mode {
  if (config.databaseUrl === null && config.redisUrl === null) return { kind: 'embedded' };
  if (config.databaseUrl === null || config.redisUrl === null) {
    throw new Error('set both DATABASE_URL and REDIS_URL for the production audit pipeline, or neither for the embedded mode');
  }
  return { kind: 'production', databaseUrl: config.databaseUrl, redisUrl: config.redisUrl };
}

/** What the primary keeps for the life of the server, and what a replica in it needs. */
interface PrimaryState {
  readonly db: SqlClient;
  /** Embedded only: the sink every worker's events end in. */
  readonly sink: AuditSink | null;
  /** The sink for a replica running in the primary itself (workers: 1). */
  readonly processSink: () => AuditSink;
  /** Embedded only: the ACME state every worker shares. */
  readonly acme: AcmeState | null;
  /** The ACME state for a replica running in the primary itself. */
  readonly processAcme: () => AcmeState;
  readonly describe: string;
  /** The policy checked at start, before the ledger was opened. */
  readonly policyHash: string;
  /** Where a serving process in the primary loads revocations from; also what embedded workers ask. */
  readonly revocationSource: RevocationSource;
  /** Embedded only: the primary writes every revocation and pushes it to its workers through this. */
  readonly revocationFeed: PrimaryRevocationFeed | null;
  /** Embedded only: the primary signs every CRL and pushes it to its workers. */
  readonly crl: EmbeddedCrls | null;
}

export async function serve(config: Config): Promise<void> {
  const mode = modeOf(config);
  if (cluster.isWorker) {
    // A worker that cannot start must exit: its IPC channel would otherwise keep it alive, never
    // listening, and the primary would wait on it forever.
    return serveWorker(config, mode).catch((err: Error) => {
      console.error(`worker ${process.pid} could not start: ${err.message}`);
      process.exit(1);
    });
  }

  // Before anything is created or opened: fix what an older version or a looser umask left behind.
  const modes = tightenDataDir(config.dataDir);
  if (modes.tightened.length > 0) console.warn(`warning: ${describeTightened(config.dataDir, modes.tightened)}`);
  if (modes.failed.length > 0) console.warn(`warning: ${describeUntightened(config.dataDir, modes.failed)}`);

  const state = mode.kind === 'embedded' ? await startEmbedded(config) : await startProduction(config, mode);

  const serving = config.workers === 1 ? await serveSingle(config, state, state.processSink()) : await servePrimary(config, state);
  // With port 0 the kernel picks; report the real one (tests read it from this line).
  const bound = { ...config, listen: { ...config.listen, port: serving.port } };
  console.log(
    `workload-ca ${config.workers === 1 ? 'is' : `(${config.workers} workers) is`} serving ${baseUrl(bound)}` +
      ` (${state.describe}, policy ${state.policyHash})`,
  );
  console.log(firstSvidHelp(bound));

  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      resolve();
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  await serving.stop();
  await state.crl?.close();
  await state.acme?.close();
  await state.sink?.close();
  await state.db.close();
}

async function startEmbedded(config: Config): Promise<PrimaryState> {
  const prepared = await prepareDataDir(config);
  for (const line of prepared.created) console.log(`created ${line}`);
  for (const warning of checkCaAtStart(config, false)) warn(warning);
  const policyHash = checkPolicyAtStart(config);
  const ledgerDir = join(config.dataDir, 'ledger');
  const db = await openEmbeddedLedger(ledgerDir);
  await migrate(db, readMigrations(MIGRATIONS_DIR));
  const sink = new GroupCommitSink(async (events) => {
    await recordEvents(db, 'embedded', events);
  });
  // Every revocation is written here, in the primary (workers reach the store over IPC), and
  // pushed from here to every worker.
  const revocationFeed = new PrimaryRevocationFeed();
  const acme = withRevocationPublishing(embeddedAcmeState(db), (r) => revocationFeed.publish(r));
  const crl = await startEmbeddedCrls(config, db, revocationFeed);
  return {
    crl,
    revocationSource: sqlRevocationSource(db),
    revocationFeed,
    db,
    sink,
    processSink: () => sink,
    acme,
    processAcme: () => acme,
    describe: `embedded mode, ledger in ${displayPath(ledgerDir)}`,
    policyHash,
  };
}

async function startProduction(config: Config, mode: Extract<Mode, { kind: 'production' }>): Promise<PrimaryState> {
  await prepareProduction(config);
  for (const warning of checkCaAtStart(config, true)) warn(warning);
  const policyHash = checkPolicyAtStart(config);
  for (const warning of await checkRedisDurability(mode.redisUrl)) console.warn(`warning: ${warning}`);
  const db = openPostgresLedger(mode.databaseUrl, { max: 2, applicationName: 'workload-ca serve' });
  // Several replicas may start at once; the migration lock makes that safe.
  await migrate(db, readMigrations(MIGRATIONS_DIR));
  return {
    db,
    sink: null,
    processSink: () => productionSink(config, mode),
    acme: null,
    processAcme: () => productionAcmeState(mode.databaseUrl, mode.redisUrl, config.redisPrefix),
    revocationSource: sqlRevocationSource(db),
    revocationFeed: null,
    crl: null,
    describe: `production mode, audit queue on Redis (prefix ${config.redisPrefix}), ledger in Postgres`,
    policyHash,
  };
}

/**
 * The policy must load, and the ACME settings must be able to work with it. Checked before the
 * ledger is opened or migrated, so a start that cannot serve fails fast and touches nothing.
 */
function checkPolicyAtStart(config: Config): string {
  const policy = loadPolicyFile(config.policyFile, crlDistributionPointProblems(config.crl.publicUrl));
  if (!policy.ok) throw new Error(`policy is invalid:\n${formatProblems(config.policyFile, policy.problems)}`);
  const acmeProblems = acmeStartProblems(config.acme, policy.policy, config.policyFile);
  if (acmeProblems.length > 0) throw new Error(`the ACME settings cannot work:\n${acmeProblems.join('\n')}`);
  return policy.policy.hash;
}

function productionSink(config: Config, mode: Extract<Mode, { kind: 'production' }>): BullMqAuditSink {
  return new BullMqAuditSink({ redisUrl: mode.redisUrl, prefix: config.redisPrefix });
}

interface Serving {
  readonly stop: () => Promise<void>;
  readonly port: number;
}

/** One process serves; `sink` is the primary's own (embedded) or a producer of its own. */
async function serveSingle(config: Config, state: PrimaryState, sink: AuditSink): Promise<Serving> {
  const revocations = await startRevocations({
    source: state.revocationSource,
    feed: state.revocationFeed ?? productionRevocationFeed(config),
    warn,
  });
  // Embedded: the primary's store publishes already. Production: this process's own store must.
  const own = state.processAcme();
  const acme = state.revocationFeed ? own : withRevocationPublishing(own, (r) => revocations.publish(r));
  const crls = state.crl ? sharedCrls(state.crl) : productionCrls(config, state.db, revocations);
  const replica = await startReplica({
    config,
    sink,
    reader: new SqlLedgerReader(state.db),
    dashboard: new SqlDashboardReader(state.db),
    acme,
    revocations,
    crls,
  });
  const address = replica.app.server.address();
  return {
    stop: async () => {
      await replica.close();
      await revocations.close();
      if (sink !== state.sink) await sink.close();
      if (acme !== state.acme) await acme.close();
    },
    port: typeof address === 'object' && address ? address.port : config.listen.port,
  };
}

async function servePrimary(config: Config, state: PrimaryState): Promise<Serving> {
  const aggregator = new client.AggregatorRegistry();
  const reader = new SqlLedgerReader(state.db);
  const dashboard = new SqlDashboardReader(state.db);
  let stopping = false;
  let port = config.listen.port;

  const fork = (): Promise<Worker> => {
    const worker = cluster.fork();
    if (state.sink) {
      serveAuditOverIpc(worker, state.sink);
      serveLedgerOverIpc(worker, reader);
      serveDashboardOverIpc(worker, dashboard);
    }
    if (state.acme) serveAcmeOverIpc(worker, state.acme);
    if (state.revocationFeed) serveRevocationsOverIpc(worker, state.revocationSource);
    if (state.crl) serveCrlsOverIpc(worker, state.crl);
    serveClusterMetrics(worker, aggregator);
    return new Promise((resolve, reject) => {
      worker.once('listening', (address) => {
        port = address.port;
        resolve(worker);
      });
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} during start-up`)));
    });
  };

  try {
    await Promise.all(Array.from({ length: config.workers }, fork));
  } catch (err) {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    throw err;
  }
  // Replacements back off while they keep failing (a bad policy file, say), up to 30 s apart.
  let failures = 0;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const delay = Math.min(500 * 2 ** failures, 30_000);
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting a replacement in ${delay} ms`);
    setTimeout(() => {
      void fork().then(
        () => (failures = 0),
        (err: Error) => {
          failures++;
          console.error(err.message);
        },
      );
    }, delay);
  });
  const onHup = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  };
  process.on('SIGHUP', onHup);

  const stop = async (): Promise<void> => {
    stopping = true;
    process.off('SIGHUP', onHup);
    await Promise.all(
      Object.values(cluster.workers ?? {}).map(
        (w) => new Promise<void>((resolve) => (w ? (w.once('exit', () => resolve()), w.process.kill('SIGTERM')) : resolve())),
      ),
    );
  };
  return { stop, port };
}

async function serveWorker(config: Config, mode: Mode): Promise<void> {
  let sink: AuditSink;
  let reader: LedgerReader;
  let dashboard: DashboardReader;
  let db: SqlClient | null = null;
  let acme: AcmeState;
  let revocations: Revocations;
  let crls: CrlFactory;
  if (mode.kind === 'embedded') {
    sink = new IpcAuditSink();
    reader = ipcLedgerReader();
    dashboard = ipcDashboardReader();
    acme = ipcAcmeState();
    // The primary writes and pushes revocations; this worker loads them from it and listens.
    revocations = await startRevocations({ source: ipcRevocationSource(), feed: new WorkerRevocationFeed(warn), warn });
    crls = workerCrls(warn);
  } else {
    sink = productionSink(config, mode);
    db = openPostgresLedger(mode.databaseUrl, { max: 2, applicationName: 'workload-ca serve' });
    reader = new SqlLedgerReader(db);
    dashboard = new SqlDashboardReader(db);
    revocations = await startRevocations({ source: sqlRevocationSource(db), feed: productionRevocationFeed(config), warn });
    crls = productionCrls(config, db, revocations);
    const published = revocations;
    acme = withRevocationPublishing(productionAcmeState(mode.databaseUrl, mode.redisUrl, config.redisPrefix), (r) => published.publish(r));
  }
  let metricsText: (() => Promise<MetricsText>) | null = null;
  const replica: Replica = await startReplica({
    config,
    sink,
    reader,
    dashboard,
    acme,
    revocations,
    crls,
    onMetrics: (m) => void (metricsText = clusterMetricsClient(m.registry)),
    metricsText: () => metricsText!(),
  });
  process.on('SIGTERM', () => {
    void (async () => {
      await replica.close();
      await revocations.close();
      await sink.close();
      await acme.close();
      await db?.close();
      process.exit(0);
    })();
  });
  process.on('SIGINT', () => undefined); // the primary decides when workers stop
}

function productionRevocationFeed(config: Config): RedisRevocationFeed {
  return new RedisRevocationFeed(config.redisUrl!, config.redisPrefix, warn);
}

function warn(message: string): void {
  console.warn(`warning: ${message}`);
}
