// One log line per decision. Every decision, whichever path and whichever layer made it (the
// Issuer, or a protocol refusing before the Issuer was reached), becomes an audit event handed to
// the sink, so decorating the sink is the one place that sees them all. The line is written after
// the sink answered, so it says whether the decision was recorded; it names the requester and the
// outcome, and never carries the certificate, a token or a key.

import type { AuditEvent, AuditReceipt, AuditSink, UnverifiedRequester } from './event.js';
import type { Backlog } from './queue-metrics.js';
import type { Requester } from '../policy/types.js';

/** The slice of a pino logger this needs; pino's own Logger satisfies it. */
export interface DecisionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  isLevelEnabled(level: string): boolean;
}

export class LoggedAuditSink implements AuditSink {
  readonly backlog?: () => Promise<Backlog>;

  constructor(
    private readonly inner: AuditSink,
    private readonly log: DecisionLogger,
  ) {
    if (inner.backlog) this.backlog = () => inner.backlog!();
  }

  async record(event: AuditEvent): Promise<AuditReceipt> {
    const receipt = await this.inner.record(event);
    if (!receipt.ok) {
      // Nothing was issued or recorded: the caller answers 503. Worth a warning at any level.
      this.log.warn({ ...describe(event), recorded: false, error: receipt.reason }, `${outcome(event)} not recorded`);
    } else if (this.log.isLevelEnabled('info')) {
      this.log.info({ ...describe(event), recorded: true }, outcome(event));
    }
    return receipt;
  }

  health(): ReturnType<AuditSink['health']> {
    return this.inner.health();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function outcome(event: AuditEvent): 'issued' | 'refused' {
  return event.kind === 'issued' ? 'issued' : 'refused';
}

function describe(event: AuditEvent): Record<string, unknown> {
  const common = { decision: outcome(event), eventId: event.id, path: event.path, rule: event.rule, requester: principal(event.requester) };
  if (event.kind === 'issued') {
    return {
      ...common,
      spiffeId: event.spiffeId,
      serial: event.serial,
      dnsNames: event.dnsNames,
      ipAddresses: event.ipAddresses,
      notAfter: event.notAfter,
      ...(event.capped ? { capped: event.capped } : {}),
    };
  }
  return {
    ...common,
    code: event.code,
    spiffeId: event.requestedSpiffeId,
    reason: event.reason,
    client: event.client ?? null,
    repeats: event.repeats ?? 1,
  };
}

/** Who asked, in a few fields: enough to find them, never their credential or its claims. */
function principal(r: Requester | UnverifiedRequester): Record<string, unknown> {
  switch (r.kind) {
    case 'unverified':
      return { kind: r.kind, presented: r.presented, claimed: r.claimed };
    case 'token':
      return { kind: r.kind, issuer: r.issuer, subject: r.subject };
    case 'svid':
      return { kind: r.kind, spiffeId: r.spiffeId, serial: r.serial };
    case 'acme-account':
      return { kind: r.kind, account: r.accountId, binding: r.binding };
    case 'est-client':
      return { kind: r.kind, name: r.name, label: r.label, auth: r.auth };
  }
}
