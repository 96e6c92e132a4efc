// Names shared by the producer (API replicas) and the consumer (ledger workers).
export const AUDIT_QUEUE = 'issuance-audit';

/** What one queue job carries: the audit events of one producer batch. */
export interface AuditJobData {
  readonly events: readonly unknown[];
}
