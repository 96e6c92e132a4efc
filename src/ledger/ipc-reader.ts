// Inventory queries from a cluster worker to the primary that owns the embedded ledger.

import type { Worker } from 'node:cluster';
import { ipcProxy, serveOverIpc } from '../server/ipc-proxy.js';
import { InvalidCursor, type LedgerReader } from './inventory.js';

const SERVICE = 'ledger';
const METHODS = ['listCertificates', 'getCertificate', 'liveCounts', 'recentDenials'] as const;

export function ipcLedgerReader(channel: NodeJS.Process = process): LedgerReader {
  return ipcProxy<LedgerReader>(SERVICE, METHODS, {
    channel,
    // The inventory API answers a forged cursor with 400, so that error must survive the trip.
    revive: (name, message) => (name === 'InvalidCursor' ? new InvalidCursor(message) : new Error(message)),
  });
}

export function serveLedgerOverIpc(worker: Worker, reader: LedgerReader): void {
  serveOverIpc(worker, SERVICE, reader, METHODS);
}
