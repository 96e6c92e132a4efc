// Calls from a cluster worker to an object that lives in the primary, over node:cluster's IPC:
// the one way the embedded mode's processes talk to each other (audit events, ledger reads, ACME
// state, metrics).
//
// The embedded mode keeps its shared state (the PGlite ledger, ACME rows, nonces, counters) in the
// primary, because only one process can own it. Workers reach it through a client with the same
// interface, so the code above cannot tell the embedded mode from Redis and Postgres. Every call
// has a deadline, so a primary that stops answering costs a worker an error, never a hang. This
// module imports nothing of the project's, so every layer may use it.

import type { Worker } from 'node:cluster';

interface Call {
  readonly t: 'rpc-call';
  readonly service: string;
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}

interface Answer {
  readonly t: 'rpc-answer';
  readonly service: string;
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { readonly message: string; readonly name: string };
}

/** How long a worker waits for the primary, unless the service says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The names of T's methods that return a promise: the only ones that can cross a process boundary. */
export type AsyncMethodNames<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T] &
  string;

/**
 * A method list that names every async method of T. A method added to the interface but not to
 * its list would otherwise fail only at run time, in a worker, as "not a function".
 */
export type EveryMethod<T, M extends readonly AsyncMethodNames<T>[]> = [Exclude<AsyncMethodNames<T>, M[number]>] extends [never]
  ? M
  : { readonly missingMethods: Exclude<AsyncMethodNames<T>, M[number]> };

/**
 * Errors cross the channel as name and message; `revive` turns a name back into the caller's own
 * error type where the caller branches on it.
 */
export type Reviver = (name: string, message: string) => Error;

export interface ClientOptions {
  readonly channel?: NodeJS.Process;
  readonly revive?: Reviver;
  readonly timeoutMs?: number;
}

/**
 * Worker side: an object whose methods call `service` in the primary. Name both type arguments,
 * `rpcClient<Service, typeof METHODS>(...)`: M defaults to never, so a list that cannot be
 * checked for completeness does not compile.
 */
export function rpcClient<T extends object, const M extends readonly AsyncMethodNames<T>[] = never>(
  service: string,
  methods: EveryMethod<T, M>,
  opts: ClientOptions = {},
): T {
  const channel = opts.channel ?? process;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let nextId = 1;
  const waiting = new Map<number, (a: Answer) => void>();
  listenOnce(channel);
  channel.on('message', (msg: Partial<Answer>) => {
    if (msg?.t !== 'rpc-answer' || msg.service !== service || typeof msg.id !== 'number') return;
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
          reject(new Error(`${service}.${method}: the primary did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          if (a.error) reject(opts.revive?.(a.error.name, a.error.message) ?? new Error(a.error.message));
          else resolve(a.result);
        });
        // The channel speaks JSON, where an undefined argument arrives as null. Trailing ones (the
        // usual optional parameters) are dropped instead, so they arrive as undefined.
        let argc = args.length;
        while (argc > 0 && args[argc - 1] === undefined) argc--;
        channel.send!({ t: 'rpc-call', service, id, method, args: args.slice(0, argc) } satisfies Call);
      });
  return Object.fromEntries((methods as readonly string[]).map((m) => [m, call(m)])) as T;
}

/**
 * Each service listens on the channel once, for the life of the process: a fixed number of
 * listeners, not a leak. Raising the limit by one per listener keeps Node's leak warning for
 * anything that does add listeners without end.
 */
function listenOnce(channel: Pick<NodeJS.EventEmitter, 'getMaxListeners' | 'setMaxListeners'>): void {
  channel.setMaxListeners(channel.getMaxListeners() + 1);
}

/** Primary side: answers one worker's calls to `service` with `impl`. */
export function serveRpc<T extends object, const M extends readonly AsyncMethodNames<T>[] = never>(
  worker: Worker,
  service: string,
  impl: T,
  methods: EveryMethod<T, M>,
): void {
  const allowed = new Set<string>(methods as readonly string[]);
  listenOnce(worker);
  worker.on('message', (msg: Partial<Call>) => {
    if (msg?.t !== 'rpc-call' || msg.service !== service || !allowed.has(msg.method!)) return;
    const reply = (a: Pick<Answer, 'result' | 'error'>): void => {
      if (worker.isConnected()) worker.send({ t: 'rpc-answer', service, id: msg.id!, ...a } satisfies Answer);
    };
    const fn = (impl as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method!]!;
    fn.apply(impl, msg.args ?? []).then(
      (result) => reply({ result }),
      (err: Error) => reply({ error: { message: err.message, name: err.name } }),
    );
  });
}

interface Push {
  readonly t: 'push';
  readonly topic: string;
  readonly payload: unknown;
}

/**
 * Primary side: a one-way message to workers, for news that cannot wait for a worker to ask. The
 * channel keeps order, so a push sent before an answer arrives before it.
 */
export function pushToWorkers(workers: Iterable<Worker | undefined>, topic: string, payload: unknown): void {
  for (const worker of workers) if (worker?.isConnected()) worker.send({ t: 'push', topic, payload } satisfies Push);
}

/** Worker side: calls `handler` with each push on `topic`. Returns the way to stop listening. */
export function onPush(topic: string, handler: (payload: unknown) => void, channel: NodeJS.Process = process): () => void {
  const listener = (msg: Partial<Push>): void => {
    if (msg?.t === 'push' && msg.topic === topic) handler(msg.payload);
  };
  listenOnce(channel);
  channel.on('message', listener);
  return () => void channel.off('message', listener);
}
