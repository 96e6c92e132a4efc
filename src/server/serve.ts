// `workload-ca serve`: the primary prepares the data directory and owns the audit sink; workers
// (one per core by default) serve HTTPS on the shared listening socket.

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import client from 'prom-client';
import type { Config } from '../config/config.js';
import type { AuditSink } from '../audit/event.js';
import { GroupCommitSink } from '../audit/group-commit.js';
import { IpcAuditSink, serveAuditOverIpc } from '../audit/ipc.js';
import { formatProblems, loadPolicyFile } from '../issuance/policy-store.js';
import { migrate, readMigrations } from '../ledger/migrate.js';
import { openEmbeddedLedger } from '../ledger/pglite.js';
import type { SqlClient } from '../ledger/sql.js';
import { writeEvents } from '../ledger/writer.js';
import { prepareDataDir } from './embedded.js';
import { startReplica, type Replica } from './replica.js';
import { baseUrl, displayPath, firstSvidHelp } from './banner.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

interface MetricsRequest {
  t: 'metrics';
  id: number;
}
interface MetricsResponse {
  t: 'metrics-res';
  id: number;
  body: string;
  contentType: string;
}

export async function serve(config: Config): Promise<void> {
  if (cluster.isWorker) return serveWorker(config);

  if (config.databaseUrl !== null || config.redisUrl !== null) {
    throw new Error('DATABASE_URL and REDIS_URL select the production audit pipeline, which this build does not have yet; unset them to run embedded');
  }
  const prepared = await prepareDataDir(config);
  for (const line of prepared.created) console.log(`created ${line}`);
  const policy = loadPolicyFile(config.policyFile);
  if (!policy.ok) throw new Error(`policy is invalid:\n${formatProblems(config.policyFile, policy.problems)}`);

  const ledgerDir = join(config.dataDir, 'ledger');
  const db = await openEmbeddedLedger(ledgerDir);
  await migrate(db, readMigrations(MIGRATIONS_DIR));
  const sink = new GroupCommitSink((events) => writeEvents(db, events));

  const { stop, port } = config.workers === 1 ? await serveSingle(config, sink) : await servePrimary(config, sink);
  // With port 0 the kernel picks; report the real one (tests read it from this line).
  const bound = { ...config, listen: { ...config.listen, port } };
  console.log(
    `workload-ca ${config.workers === 1 ? 'is' : `(${config.workers} workers) is`} serving ${baseUrl(bound)}` +
      ` (embedded mode, ledger in ${displayPath(ledgerDir)}, policy ${policy.policy.hash})`,
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
  await stop();
  await sink.close();
  await db.close();
}

interface Serving {
  readonly stop: () => Promise<void>;
  readonly port: number;
}

async function serveSingle(config: Config, sink: AuditSink): Promise<Serving> {
  const replica = await startReplica({ config, sink });
  const address = replica.app.server.address();
  return { stop: () => replica.close(), port: typeof address === 'object' && address ? address.port : config.listen.port };
}

async function servePrimary(config: Config, sink: AuditSink): Promise<Serving> {
  const aggregator = new client.AggregatorRegistry();
  let stopping = false;

  let port = config.listen.port;
  const fork = (): Promise<Worker> => {
    const worker = cluster.fork();
    serveAuditOverIpc(worker, sink);
    worker.on('message', (msg: Partial<MetricsRequest>) => {
      if (msg?.t !== 'metrics') return;
      const reply = (body: string): void => {
        if (worker.isConnected()) {
          worker.send({ t: 'metrics-res', id: msg.id!, body, contentType: aggregator.contentType } satisfies MetricsResponse);
        }
      };
      aggregator.clusterMetrics().then(reply, (err: Error) => reply(`# metrics unavailable: ${err.message}\n`));
    });
    return new Promise((resolve, reject) => {
      worker.once('listening', (address) => {
        port = address.port;
        resolve(worker);
      });
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} during start-up`)));
    });
  };

  await Promise.all(Array.from({ length: config.workers }, fork));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting a replacement`);
    setTimeout(() => void fork().catch((err: Error) => console.error(err.message)), 500);
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

async function serveWorker(config: Config): Promise<void> {
  const sink = new IpcAuditSink();
  let nextId = 1;
  const waiting = new Map<number, (m: MetricsResponse) => void>();
  process.on('message', (msg: Partial<MetricsResponse>) => {
    if (msg?.t === 'metrics-res' && waiting.has(msg.id!)) {
      waiting.get(msg.id!)!(msg as MetricsResponse);
      waiting.delete(msg.id!);
    }
  });
  let replica: Replica | null = null;
  replica = await startReplica({
    config,
    sink,
    onMetrics: (m) => {
      // Constructing one installs prom-client's worker-side listener for the primary's requests.
      new client.AggregatorRegistry();
      client.AggregatorRegistry.setRegistries([m.registry]);
    },
    metricsText: () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, (m) => resolve({ contentType: m.contentType, body: m.body }));
        process.send!({ t: 'metrics', id } satisfies MetricsRequest);
      }),
  });
  const shutdown = (): void => {
    void replica?.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', () => undefined); // the primary decides when workers stop
}
