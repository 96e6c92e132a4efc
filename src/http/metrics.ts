// Prometheus metrics. In cluster mode every worker keeps its own registry and the primary
// aggregates them on request (prom-client's AggregatorRegistry), so any worker can answer.

import client from 'prom-client';
import type { IssuanceObserver } from '../issuance/issuer.js';
import { registerQueueGauges, type Backlog } from '../audit/queue-metrics.js';

export class IssuanceMetrics implements IssuanceObserver {
  readonly registry = new client.Registry();
  private readonly issuedTotal = new client.Counter({
    name: 'workload_ca_issued_total',
    help: 'Certificates issued, by enrollment path and policy rule.',
    labelNames: ['path', 'rule'],
    registers: [this.registry],
  });
  private readonly deniedTotal = new client.Counter({
    name: 'workload_ca_denied_total',
    help: 'Issuance requests refused, by enrollment path, policy rule and cause.',
    labelNames: ['path', 'rule', 'code'],
    registers: [this.registry],
  });
  private readonly challengedTotal = new client.Counter({
    name: 'workload_ca_auth_challenges_total',
    help: 'Requests that presented no credentials at all and got an authentication challenge (401), by path and EST label. Not ledger denials: clients such as libest send every request this way first.',
    labelNames: ['path', 'label'],
    registers: [this.registry],
  });
  private readonly latency = new client.Histogram({
    name: 'workload_ca_issuance_seconds',
    help: 'Time from CSR received by the Issuer to audit event accepted.',
    labelNames: ['path'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'workload_ca_' });
  }

  /** Seconds left on the issuing CA, read at scrape time. */
  watchIssuingCa(secondsLeft: () => number): void {
    new client.Gauge({
      name: 'workload_ca_issuing_ca_seconds_left',
      help: 'Seconds until the issuing CA certificate expires (negative once it has); leaves are capped at it.',
      registers: [this.registry],
      // Every worker sees the same CA; summing them across the cluster would multiply it.
      aggregator: 'min',
      collect() {
        this.set(Math.round(secondsLeft()));
      },
    });
  }

  /** Queue depth and oldest pending event, read from the queue at scrape time. */
  watchQueue(backlog: () => Promise<Backlog>): void {
    registerQueueGauges(this.registry, backlog);
  }

  issued(path: string, rule: string, seconds: number): void {
    this.issuedTotal.inc({ path, rule });
    this.latency.observe({ path }, seconds);
  }

  denied(path: string, rule: string, code: string): void {
    this.deniedTotal.inc({ path, rule, code });
  }

  /** `label` is the EST label, '' for the unlabeled path. */
  challenged(path: string, label: string): void {
    this.challengedTotal.inc({ path, label });
  }
}
