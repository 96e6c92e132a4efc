// Embedded mode: the primary owns the database, so it alone signs CRLs; it pushes each new one to
// every worker, and a worker that starts asks for the current ones. Workers serve their copies.

import cluster, { type Worker } from 'node:cluster';
import { createHash } from 'node:crypto';
import { onPush, pushToWorkers, rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import type { CrlService } from './crl-publisher.js';
import type { PublishedCrl } from './crl-store.js';

const TOPIC = 'crl';
const SERVICE = 'crls';

/** A CRL as it crosses the channel (JSON): no bigint, no Buffer. */
interface WireCrl {
  readonly issuerKeyId: string;
  readonly number: string;
  readonly thisUpdate: number;
  readonly nextUpdate: number;
  readonly der: string;
}

interface CrlList {
  list(): Promise<WireCrl[]>;
}
const METHODS = ['list'] as const;

const toWire = (c: PublishedCrl): WireCrl => ({
  issuerKeyId: c.issuerKeyId,
  number: c.number.toString(),
  thisUpdate: c.thisUpdate.getTime(),
  nextUpdate: c.nextUpdate.getTime(),
  der: c.der.toString('base64'),
});

function fromWire(value: unknown): PublishedCrl | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.issuerKeyId !== 'string' || !/^[0-9a-f]{2,128}$/.test(v.issuerKeyId)) return null;
  if (typeof v.number !== 'string' || !/^[1-9][0-9]{0,48}$/.test(v.number)) return null;
  if (typeof v.thisUpdate !== 'number' || typeof v.nextUpdate !== 'number' || typeof v.der !== 'string') return null;
  const der = Buffer.from(v.der, 'base64');
  return {
    issuerKeyId: v.issuerKeyId,
    number: BigInt(v.number),
    thisUpdate: new Date(v.thisUpdate),
    nextUpdate: new Date(v.nextUpdate),
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/** Primary side: a newly loaded CRL goes to every worker. */
export function pushCrlToWorkers(crl: PublishedCrl): void {
  pushToWorkers(Object.values(cluster.workers ?? {}), TOPIC, toWire(crl));
}

export function serveCrlsOverIpc(worker: Worker, source: { all(): PublishedCrl[] }): void {
  const impl: CrlList = { list: async () => source.all().map(toWire) };
  serveRpc<CrlList, typeof METHODS>(worker, SERVICE, impl, METHODS);
}

/** Worker side: listens first, then asks, so a CRL pushed in between is not lost; the higher number wins. */
export async function ipcCrlCatalog(warn: (message: string) => void): Promise<CrlService> {
  const held = new Map<string, PublishedCrl>();
  const keep = (value: unknown): void => {
    const crl = fromWire(value);
    if (!crl) return warn('crl push ignored: not a CRL');
    const had = held.get(crl.issuerKeyId);
    if (!had || had.number < crl.number) held.set(crl.issuerKeyId, crl);
  };
  const stop = onPush(TOPIC, keep);
  for (const c of await rpcClient<CrlList, typeof METHODS>(SERVICE, METHODS).list()) keep(c);
  return {
    current: (issuerKeyId) => held.get(issuerKeyId) ?? null,
    close: async () => stop(),
  };
}
