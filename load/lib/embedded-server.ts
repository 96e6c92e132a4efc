// Embedded mode: the real `workload-ca serve` (same entry point users run) on a throw-away data
// directory and a kernel-chosen port, plus development tokens minted with the real `token` command.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { prepareProduction, type BenchSigner } from './production.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
/** The compiled CLI, as users run it (the bench scripts build first); tsx would add its own overhead. */
const cliOf = (root: string): string[] => [join(root, 'dist/cli.js')];
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
/** Enough of the server's output to explain a failure, without growing for the whole run. */
const OUTPUT_KEEP_CHARS = 64 * 1024;

export interface Identity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface EmbeddedServer {
  readonly url: URL;
  readonly pid: number;
  /** Serving processes as the server reported them in its ready line. */
  readonly workers: number;
  readonly dataDir: string;
  readonly rootPem: string;
  readonly output: () => string;
  /** Set once the server exited on its own; a run must not report numbers from a dead server. */
  readonly exitedEarly: () => string | null;
  /** Production mode only: ledger rows so far, to measure how far the ledger lags issuance. */
  readonly ledgerRows: (() => Promise<number>) | null;
  /** Production mode only: the serials in the ledger (lower-case hex), to check none is missing. */
  readonly ledgerSerials: (() => Promise<string[]>) | null;
  /** Production mode only: the ledger worker's pid. */
  readonly ledgerWorkerPid: () => number | null;
  mintToken(identity: Identity, ttlSeconds: number): Promise<string>;
  /** Stops the server (SIGTERM, then SIGKILL) and deletes the data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly workers: number | 'auto';
  readonly trustDomain: string;
  readonly cpuProfDir: string | null;
  /** Serve from another built checkout of the project (absent or null: this one). */
  readonly checkout?: string | null;
  /** Redis queue and Postgres ledger instead of the embedded ledger. */
  readonly production: boolean;
  /** More settings for the server (the ACME bench's validation ports and resolver). */
  readonly env?: NodeJS.ProcessEnv;
  /** Production only: where the issuing key lives (default an encrypted key file). */
  readonly signer?: BenchSigner;
}

export async function startEmbeddedServer(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wlca-bench-'));
  const root = opts.checkout ? resolve(opts.checkout) : PROJECT_ROOT;
  const cli = cliOf(root);
  const backend = opts.production ? await prepareProduction(root, cli, dataDir, opts.trustDomain, opts.signer ?? 'file') : null;
  const env = { ...serverEnv(dataDir, opts), ...backend?.env };
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(opts.cpuProfDir)] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...cli, 'serve'], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  let stopping = false;
  let exitNote: string | null = null;
  child.once('exit', (code, signal) => {
    if (!stopping) exitNote = `server exited unexpectedly (${signal ?? code})`;
  });

  const stop = onceAsync(async () => {
    stopping = true;
    await stopChild(child);
    await backend?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  try {
    const ready = await waitForReady(child, output.text);
    await backend?.startWorker();
    return {
      url: new URL(`https://127.0.0.1:${ready.port}`),
      pid: child.pid!,
      workers: ready.workers,
      dataDir,
      rootPem: readFileSync(join(dataDir, 'ca/root-ca.pem'), 'utf8'),
      output: output.text,
      exitedEarly: () => exitNote,
      ledgerRows: backend ? () => backend.db.count('certificates') : null,
      ledgerSerials: backend
        ? async () => (await backend.db.query<{ serial: string }>('SELECT serial FROM certificates')).map((r) => r.serial)
        : null,
      ledgerWorkerPid: () => backend?.workerPid() ?? null,
      mintToken: (identity, ttl) => mintToken(root, env, identity, ttl),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function serverEnv(dataDir: string, opts: EmbeddedOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WORKLOAD_CA_DATA_DIR: dataDir,
    WORKLOAD_CA_PORT: '0',
    WORKLOAD_CA_HOST: '127.0.0.1',
    WORKLOAD_CA_WORKERS: String(opts.workers),
    WORKLOAD_CA_TRUST_DOMAIN: opts.trustDomain,
    // Request logging would measure the logger, not the CA.
    WORKLOAD_CA_LOG_LEVEL: 'warn',
    ...opts.env,
  };
}

function captureOutput(child: ChildProcess): { text: () => string } {
  let out = '';
  const add = (d: Buffer): void => {
    out += d.toString();
    if (out.length > OUTPUT_KEEP_CHARS * 2) out = out.slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return { text: () => out };
}

/** The ready line: `workload-ca [(N workers)] is serving https://127.0.0.1:PORT (...)`. */
function waitForReady(child: ChildProcess, output: () => string): Promise<{ port: number; workers: number }> {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => finish(new Error(`server did not become ready in ${READY_TIMEOUT_MS / 1000}s:\n${output()}`)), READY_TIMEOUT_MS);
    const onData = (): void => {
      const m = /workload-ca (?:\((\d+) workers\) )?is serving https:\/\/127\.0\.0\.1:(\d+)/.exec(output());
      if (m) finish(null, { port: Number(m[2]), workers: m[1] === undefined ? 1 : Number(m[1]) });
    };
    const onExit = (code: number | null): void => finish(new Error(`server exited with ${code} before it was ready:\n${output()}`));
    const finish = (err: Error | null, value?: { port: number; workers: number }): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolveReady(value!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function mintToken(root: string, env: NodeJS.ProcessEnv, identity: Identity, ttlSeconds: number): Promise<string> {
  const args = [
    ...cliOf(root),
    'token',
    '--namespace',
    identity.namespace,
    '--service-account',
    identity.serviceAccount,
    '--ttl',
    String(ttlSeconds),
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env, cwd: root });
  const token = stdout.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
    throw new Error(`token command printed something that is not a JWT: ${stdout}`);
  return token;
}

function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= fn());
}
