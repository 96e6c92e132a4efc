// The audit event: one record per issuance decision, the same shape on every path and on every
// queue (in-process or BullMQ), so the ledger writer never cares where an event came from.

import type { EnrollmentPath, RefusalCode, Requester } from '../policy/types.js';
import type { Backlog } from './queue-metrics.js';

export const AUDIT_EVENT_VERSION = 1;

/**
 * Who a refused request claimed to be when its credentials did not verify: what was presented
 * and, where it could be read without trusting it, the identity it named (a token's iss#sub, a
 * certificate's subject, a Basic user name, an ACME key id). Never the credential itself.
 */
export interface UnverifiedRequester {
  readonly kind: 'unverified';
  readonly presented: 'token' | 'certificate' | 'basic' | 'acme-jws' | 'none';
  readonly claimed: string | null;
}

interface EventBase {
  readonly v: typeof AUDIT_EVENT_VERSION;
  /** Unique per event; the ledger's idempotency key for denials. */
  readonly id: string;
  readonly path: EnrollmentPath;
  readonly requester: Requester;
  readonly policyHash: string;
  readonly rule: string;
  /** Hex SHA-256 of the CSR DER, or null when the CSR never parsed far enough to hash. */
  readonly csrSha256: string | null;
  /** ISO 8601, when the decision was made. */
  readonly at: string;
}

export interface IssuedEvent extends EventBase {
  readonly kind: 'issued';
  /** Hex serial, lower-case, no separators. With issuerKeyId, the ledger's idempotency key. */
  readonly serial: string;
  readonly issuerKeyId: string;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** The certificate, base64 DER. */
  readonly certificate: string;
  /** Present when notAfter is earlier than the policy granted: the issuing CA expires first. */
  readonly capped?: 'issuing-ca-expiry';
}

export interface DeniedEvent extends Omit<EventBase, 'requester'> {
  readonly kind: 'denied';
  /** Verified, or (failed authentication) only what the request claimed. */
  readonly requester: Requester | UnverifiedRequester;
  /** A policy denial, a CSR the checks refused, or a protocol refusal before either. */
  readonly code: RefusalCode;
  readonly reason: string;
  readonly requestedSpiffeId: string | null;
  /** The client's address, where the protocol knows it (absent in events from older versions). */
  readonly client?: string | null;
  /** How many identical refusals from one source this row stands for (absent: 1). */
  readonly repeats?: number;
}

export type AuditEvent = IssuedEvent | DeniedEvent;

/**
 * Where the Issuer hands events. `record` resolves only once the event is durable in the queue
 * (committed to the embedded ledger, or acknowledged by Redis); until then no certificate leaves.
 */
export interface AuditSink {
  record(event: AuditEvent): Promise<AuditReceipt>;
  /** Whether events can be accepted now; /readyz reports it. */
  health(): Promise<{ readonly ok: boolean; readonly detail: string }>;
  /** Queue depth and the oldest pending event, where the sink is a queue others drain. */
  backlog?(): Promise<Backlog>;
  close(): Promise<void>;
}

export type AuditReceipt = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly retryAfterSeconds: number };
