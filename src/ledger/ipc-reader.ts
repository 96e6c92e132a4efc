// Inventory queries from a cluster worker to the primary that owns the embedded ledger.

import type { Worker } from 'node:cluster';
import { InvalidCursor, type LedgerReader } from './inventory.js';

type Method = keyof LedgerReader;
const METHODS: readonly Method[] = ['listCertificates', 'getCertificate', 'liveCounts', 'recentDenials'];

interface Call {
  t: 'ledger-call';
  id: number;
  method: Method;
  args: unknown[];
}
interface Answer {
  t: 'ledger-answer';
  id: number;
  result?: unknown;
  error?: { message: string; invalidCursor: boolean };
}

export function ipcLedgerReader(channel: NodeJS.Process = process): LedgerReader {
  let nextId = 1;
  const waiting = new Map<number, (a: Answer) => void>();
  channel.on('message', (msg: Partial<Answer>) => {
    if (msg?.t !== 'ledger-answer' || typeof msg.id !== 'number') return;
    waiting.get(msg.id)?.(msg as Answer);
    waiting.delete(msg.id);
  });
  const call =
    (method: Method) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('ledger did not answer in time'));
        }, 10_000);
        waiting.set(id, (a) => {
          clearTimeout(timer);
          if (a.error) reject(a.error.invalidCursor ? new InvalidCursor(a.error.message) : new Error(a.error.message));
          else resolve(a.result as never);
        });
        channel.send!({ t: 'ledger-call', id, method, args } satisfies Call);
      });
  return Object.fromEntries(METHODS.map((m) => [m, call(m)])) as unknown as LedgerReader;
}

export function serveLedgerOverIpc(worker: Worker, reader: LedgerReader): void {
  worker.on('message', (msg: Partial<Call>) => {
    if (msg?.t !== 'ledger-call' || !METHODS.includes(msg.method!)) return;
    const fn = reader[msg.method!] as (...a: unknown[]) => Promise<unknown>;
    const reply = (a: Omit<Answer, 't' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ t: 'ledger-answer', id: msg.id!, ...a } satisfies Answer);
    };
    fn.apply(reader, msg.args ?? []).then(
      (result) => reply({ result }),
      (err: Error) => reply({ error: { message: err.message, invalidCursor: err instanceof InvalidCursor } }),
    );
  });
}
