// Names shared by the producer (API replicas) and the consumer (ledger workers).
export const AUDIT_QUEUE = 'issuance-audit';
/** Every key lives under this prefix, so several deployments (and tests) can share one Redis. */
export const DEFAULT_REDIS_PREFIX = 'workload-ca';

/** What one queue job carries: the audit events of one producer batch. */
export interface AuditJobData {
  readonly events: readonly unknown[];
}
