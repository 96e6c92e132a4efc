// Dashboard queries from a cluster worker to the primary that owns the embedded ledger.

import type { Worker } from 'node:cluster';
import { rpcClient, serveRpc } from '../ipc/cluster-rpc.js';
import { InvalidDashboardCursor, type DashboardReader } from './dashboard-queries.js';

const SERVICE = 'dashboard';
const METHODS = ['overview', 'tree', 'certificates', 'refusalGroups', 'refusalEvents', 'ruleHits'] as const;

export function ipcDashboardReader(channel: NodeJS.Process = process): DashboardReader {
  return rpcClient<DashboardReader, typeof METHODS>(SERVICE, METHODS, {
    channel,
    // A forged cursor is the caller's mistake (400), so that error must survive the trip.
    revive: (name, message) => (name === 'InvalidDashboardCursor' ? new InvalidDashboardCursor(message) : new Error(message)),
  });
}

export function serveDashboardOverIpc(worker: Worker, reader: DashboardReader): void {
  serveRpc<DashboardReader, typeof METHODS>(worker, SERVICE, reader, METHODS);
}
