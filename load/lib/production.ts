// Production mode for the bench: the same `serve`, but with the BullMQ queue on the machine's
// Redis (a private key prefix) and a fresh Postgres ledger database, drained by one real
// `workload-ca worker`. The CA and the policy are made the way an operator would: `init` and a
// policy file (here the development default, so the development tokens map as in embedded mode).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AUDIT_QUEUE } from '../../src/audit/queue-names.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.js';
import { defaultPolicyYaml } from '../../src/policy/index.js';
import { createDatabase, type TestDatabase } from '../../test/support/infra.js';
import { makeToken } from '../../test/support/softhsm.js';

/** Where the bench server's issuing key lives: an encrypted key file, or a SoftHSM2 token. */
export type BenchSigner = 'file' | 'pkcs11';

export interface ProductionBackend {
  readonly env: NodeJS.ProcessEnv;
  readonly db: TestDatabase;
  /** Starts the ledger worker; call after the server has migrated the database. */
  startWorker(): Promise<void>;
  /** The ledger worker's pid once started, to watch its memory. */
  workerPid(): number | null;
  cleanup(): Promise<void>;
}

export async function prepareProduction(
  root: string,
  cli: string[],
  dataDir: string,
  trustDomain: string,
  signer: BenchSigner = 'file',
): Promise<ProductionBackend> {
  const db = await createDatabase();
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `wlca-bench-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: db.url(),
    REDIS_URL: redisUrl,
    WORKLOAD_CA_REDIS_PREFIX: prefix,
    WORKLOAD_CA_DEV_TOKEN_ISSUER: 'true',
    WORKLOAD_CA_WORKER_METRICS_PORT: '0',
    // As an operator would run it: production refuses a plain key file.
    ...(signer === 'file' ? { WORKLOAD_CA_KEY_PASSPHRASE: 'bench passphrase' } : makeToken(`bench-${randomBytes(3).toString('hex')}`).caEnv),
  };
  const base = { ...process.env, WORKLOAD_CA_DATA_DIR: dataDir, WORKLOAD_CA_TRUST_DOMAIN: trustDomain, ...env };
  const hsm = signer === 'pkcs11' ? ['--pkcs11'] : [];
  await promisify(execFile)(process.execPath, [...cli, 'init', join(dataDir, 'ca'), '--trust-domain', trustDomain, ...hsm], { cwd: root, env: base });
  writeFileSync(join(dataDir, 'policy.yaml'), defaultPolicyYaml({ trustDomain, tokenIssuer: DEV_TOKEN_ISSUER, audience: DEV_TOKEN_AUDIENCE }));

  let worker: ChildProcess | null = null;
  return {
    env,
    db,
    async startWorker() {
      worker = spawn(process.execPath, [...cli, 'worker'], { cwd: root, env: base, stdio: 'ignore' });
    },
    workerPid: () => worker?.pid ?? null,
    async cleanup() {
      if (worker && worker.exitCode === null) {
        const exited = new Promise((r) => worker!.once('exit', r));
        worker.kill('SIGTERM');
        await exited;
      }
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const queue = new Queue(AUDIT_QUEUE, { connection, prefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      connection.disconnect();
      await db.drop();
    },
  };
}
