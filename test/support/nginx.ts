// Debian's nginx as a layer-4 load balancer in front of CA replicas: a `stream` proxy, so TLS
// passes through untouched (EST client certificates, channel binding and mTLS renewal reach the
// CA, as behind a passthrough Ingress). Runs unprivileged-port, in the foreground, with every file
// in a temporary directory; the access log records which replica served each connection.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { eventually } from './eventually.js';
import { freePort } from './infra.js';
import { scratchDir } from './scratch.js';

export interface Nginx {
  readonly port: number;
  /**
   * Per stream session, in the order sessions ended: the upstreams (127.0.0.1:PORT) nginx tried,
   * the last one being the one that served it. Read from the access log, flushed every 100 ms.
   */
  sessions(): string[][];
  close(): Promise<void>;
}

/** The stream module is dynamic in Debian's build; its directory comes from `nginx -V`. */
function streamModuleDirective(): string {
  const v = spawnSync('nginx', ['-V'], { encoding: 'utf8' });
  if (v.error) throw new Error('nginx is not installed: scripts/test-setup.sh (npm test runs it first) installs nginx and libnginx-mod-stream');
  const info = `${v.stdout}${v.stderr}`; // nginx prints its build options on stderr
  if (/--with-stream(\s|$)/.test(info)) return '';
  const dir = /--modules-path=(\S+)/.exec(info)?.[1];
  const module = dir ? join(dir, 'ngx_stream_module.so') : '';
  if (!module || !existsSync(module)) throw new Error('nginx has no stream module: install libnginx-mod-stream (scripts/test-setup.sh does)');
  return `load_module ${module};`;
}

/** `port`: where nginx listens (a free one if not given), so a test can name it before nginx starts. */
export async function startNginx(upstreamPorts: readonly number[], listenPort?: number): Promise<Nginx> {
  const dir = scratchDir('wlca-nginx-');
  const port = listenPort ?? (await freePort());
  const conf = join(dir, 'nginx.conf');
  const log = join(dir, 'stream.log');
  writeFileSync(
    conf,
    `${streamModuleDirective()}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
stream {
  log_format upstream '$upstream_addr|$status';
  access_log ${log} upstream flush=100ms buffer=4k;
  upstream ca {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    proxy_pass ca;
    # A replica that is down is skipped for new connections; established ones are not retried.
    proxy_connect_timeout 1s;
    proxy_next_upstream on;
    proxy_timeout 60s;
  }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForPort(port, child, () => out);
  return {
    port,
    sessions: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split('|')[0]!.split(', '))
        : [],
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  await eventually(
    () => `nginx to listen on ${port}: ${output()}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output()}`);
      return new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
    },
    10_000,
    50,
  );
}
