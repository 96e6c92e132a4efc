// /metrics in cluster mode: every worker keeps its own registry, and whichever worker is asked
// gets the whole server's figures from the primary, which aggregates them (prom-client's
// AggregatorRegistry). The request goes over the cluster channel with a deadline like every other.

import type { Worker } from 'node:cluster';
import client from 'prom-client';
import { rpcClient, serveRpc } from '../ipc/cluster-rpc.js';

export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}

interface MetricsService {
  text(): Promise<MetricsText>;
}

const SERVICE = 'metrics';
const METHODS = ['text'] as const;
const TIMEOUT_MS = 5_000;

/** Primary side: one aggregator for all workers. */
export function serveClusterMetrics(worker: Worker, aggregator: client.AggregatorRegistry<client.RegistryContentType>): void {
  const service: MetricsService = {
    text: () =>
      aggregator.clusterMetrics().then(
        (body) => ({ contentType: aggregator.contentType, body }),
        (err: Error) => ({ contentType: aggregator.contentType, body: `# metrics unavailable: ${err.message}\n` }),
      ),
  };
  serveRpc<MetricsService, typeof METHODS>(worker, SERVICE, service, METHODS);
}

/** Worker side: registers this worker's registry with prom-client's cluster protocol, and asks the primary. */
export function clusterMetricsClient(registry: client.Registry): () => Promise<MetricsText> {
  // Constructing one installs prom-client's worker-side listener for the primary's requests.
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([registry]);
  const primary = rpcClient<MetricsService, typeof METHODS>(SERVICE, METHODS, { timeoutMs: TIMEOUT_MS });
  return () => primary.text();
}
