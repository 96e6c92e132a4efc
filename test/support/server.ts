// Starts the real CLI (`workload-ca serve`) on a temporary data directory and a kernel-chosen
// port, and talks to it over real HTTPS.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { scratchDir } from './scratch.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The compiled CLI, as `npm start` and users run it. Under tsx every spawn (and every cluster
 * worker it forks) would transform the sources again: about 1.3 s and 2 CPU-seconds a process,
 * which over the suite's hundreds of processes was minutes. `npm test` builds first.
 */
export const CLI = [join(ROOT, 'dist/cli.js')];

/** Refuses to test a build older than the sources: the result would describe other code. */
function assertBuilt(): void {
  const built = join(ROOT, 'dist/cli.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` (npm test does) before the integration tests`);
  }
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)),
    );
  if (newest(join(ROOT, 'src')) > builtAt) {
    throw new Error(`src/ changed after the last build: run \`npm run build\` (npm test does) before the integration tests`);
  }
}
assertBuilt();

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  readonly rootPem: string;
  readonly rootFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly output: () => string;
  cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<number | null>;
}

export async function startServer(opts: { workers?: number; env?: NodeJS.ProcessEnv; dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? scratchDir('wlca-');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WORKLOAD_CA_DATA_DIR: dataDir,
    WORKLOAD_CA_PORT: '0',
    WORKLOAD_CA_WORKERS: String(opts.workers ?? 1),
    WORKLOAD_CA_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const child: ChildProcess = spawn(process.execPath, [...CLI, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const check = (): void => {
      const m = /serving https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const rootFile = join(dataDir, 'ca/root-ca.pem');
  const cli = async (args: string[]) => {
    try {
      const r = await promisify(execFile)(process.execPath, [...CLI, ...args], { env: { ...env, WORKLOAD_CA_PORT: String(port) }, cwd: ROOT });
      return { stdout: r.stdout, stderr: r.stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dataDir,
    rootPem: readFileSync(rootFile, 'utf8'),
    rootFile,
    env,
    output: () => out,
    cli,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface TestProcess {
  readonly pid: number;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a long-lived CLI command (such as `worker`) and waits for the line that says it is ready. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<TestProcess> {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${out}`));
    });
  });
  return {
    pid: child.pid!,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(signal);
      return exited;
    },
  };
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The body's bytes, for binary answers (a DER CRL). */
  readonly raw: Buffer;
  // Tests read arbitrary JSON bodies and assert on their fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json<T = any>(): T;
}

/** One HTTPS request with this CA's root as the only trust anchor, optionally with a client certificate. */
export function https(
  server: Pick<TestServer, 'url' | 'rootPem'>,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; cert?: string; key?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolveReq, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, ca: server.rootPem, headers: opts.headers, cert: opts.cert, key: opts.key, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = raw.toString();
          resolveReq({ status: res.statusCode!, headers: res.headers, body, raw, json: () => JSON.parse(body) });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
