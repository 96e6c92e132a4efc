// Inventory queries from a cluster worker to the primary that owns the embedded ledger.

import type { Worker } from 'node:cluster';
import { rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import { InvalidCursor, type LedgerReader } from './inventory.js';

const SERVICE = 'ledger';
const METHODS = ['listCertificates', 'getCertificate', 'liveCounts', 'recentDenials', 'revocationEvents', 'revocationEvent'] as const;

export function ipcLedgerReader(channel: NodeJS.Process = process): LedgerReader {
  return rpcClient<LedgerReader, typeof METHODS>(SERVICE, METHODS, {
    channel,
    // The inventory API answers a forged cursor with 400, so that error must survive the trip.
    revive: (name, message) => (name === 'InvalidCursor' ? new InvalidCursor(message) : new Error(message)),
  });
}

export function serveLedgerOverIpc(worker: Worker, reader: LedgerReader): void {
  serveRpc<LedgerReader, typeof METHODS>(worker, SERVICE, reader, METHODS);
}
