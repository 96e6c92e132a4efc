// Calls from a cluster worker to an object that lives in the primary, over node:cluster's IPC.
//
// The embedded mode keeps its shared state (the PGlite ledger, ACME rows, nonces, counters) in
// the primary, because only one process can own it. Workers reach it through a proxy with the
// same interface, so the code above cannot tell the embedded mode from Redis and Postgres.

import type { Worker } from 'node:cluster';

interface Call {
  readonly t: 'ipc-call';
  readonly service: string;
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}

interface Answer {
  readonly t: 'ipc-answer';
  readonly service: string;
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { readonly message: string; readonly name: string };
}

/** How long a worker waits for the primary before the call fails. */
const CALL_TIMEOUT_MS = 10_000;

type AsyncMethods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];

/**
 * Errors cross the channel as name and message; `revive` turns a name back into the caller's own
 * error type where the caller branches on it.
 */
export type Reviver = (name: string, message: string) => Error;

export function ipcProxy<T extends object>(
  service: string,
  methods: readonly AsyncMethods<T>[],
  opts: { channel?: NodeJS.Process; revive?: Reviver } = {},
): T {
  const channel = opts.channel ?? process;
  let nextId = 1;
  const waiting = new Map<number, (a: Answer) => void>();
  channel.on('message', (msg: Partial<Answer>) => {
    if (msg?.t !== 'ipc-answer' || msg.service !== service || typeof msg.id !== 'number') return;
    waiting.get(msg.id)?.(msg as Answer);
    waiting.delete(msg.id);
  });
  const call =
    (method: string) =>
    (...args: unknown[]): Promise<unknown> =>
      new Promise((resolve, reject) => {
        if (!channel.connected) return reject(new Error(`${service}: the primary process is not connected`));
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${service}.${method}: the primary did not answer in time`));
        }, CALL_TIMEOUT_MS);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          if (a.error) reject(opts.revive?.(a.error.name, a.error.message) ?? new Error(a.error.message));
          else resolve(a.result);
        });
        channel.send!({ t: 'ipc-call', service, id, method, args } satisfies Call);
      });
  return Object.fromEntries(methods.map((m) => [m, call(String(m))])) as T;
}

/** Primary side: answers one worker's calls to `service` with `impl`. */
export function serveOverIpc<T extends object>(worker: Worker, service: string, impl: T, methods: readonly AsyncMethods<T>[]): void {
  const allowed = new Set<string>(methods.map(String));
  worker.on('message', (msg: Partial<Call>) => {
    if (msg?.t !== 'ipc-call' || msg.service !== service || !allowed.has(msg.method!)) return;
    const reply = (a: Pick<Answer, 'result' | 'error'>): void => {
      if (worker.isConnected()) worker.send({ t: 'ipc-answer', service, id: msg.id!, ...a } satisfies Answer);
    };
    const fn = (impl as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method!]!;
    fn.apply(impl, msg.args ?? []).then(
      (result) => reply({ result }),
      (err: Error) => reply({ error: { message: err.message, name: err.name } }),
    );
  });
}
