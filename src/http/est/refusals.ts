// EST refusals that happen before a request reaches the Issuer (bad credentials, a wrong media
// type, a body that is not base64, a broken channel binding, a reenrollment that changes names)
// still go to the ledger's denials, in the same event format and through the same sink as the
// Issuer's own, so "who was refused what" has one answer whatever the cause.
//
// A request that presents no credentials at all is not a refusal of anyone: it is how HTTP
// authentication starts (libest sends every Basic request that way first, then retries after
// the 401 challenge). It is counted in the metrics and leaves the ledger alone, so the denials
// stay the attempts that failed.

import { randomUUID } from 'node:crypto';
import type { AuditSink, DeniedEvent } from '../../audit/event.js';
import type { IssuanceObserver, PolicySource } from '../../issuance/issuer.js';
import type { EstRequester } from './authenticate.js';

/**
 * Rule names for refusals no policy rule made. The colon keeps them apart from policy rule
 * names, which are lower-case letters, digits and "-" only.
 */
export const EST_RULES = {
  authentication: 'est:authentication',
  request: 'est:request',
  channelBinding: 'est:channel-binding',
  reenroll: 'est:reenroll',
} as const;

export interface EstRefusal {
  readonly rule: (typeof EST_RULES)[keyof typeof EST_RULES];
  readonly code: DeniedEvent['code'];
  readonly reason: string;
  readonly csrSha256?: string | null;
  readonly requestedSpiffeId?: string | null;
}

/** What EST reports to the metrics: the Issuer's observer, and bare authentication challenges. */
export interface EstObserver extends IssuanceObserver {
  /** `label` is the EST label, '' for the unlabeled path. */
  challenged(path: 'est', label: string): void;
}

export type Recorded = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number; readonly reason: string };

export class RefusalRecorder {
  constructor(
    private readonly audit: AuditSink,
    private readonly policy: PolicySource,
    private readonly observer: EstObserver,
  ) {}

  /** A request with no credentials at all, answered with the challenge: counted, not recorded. */
  challenged(requester: EstRequester): void {
    this.observer.challenged('est', requester.label ?? '');
  }

  async record(requester: EstRequester, refusal: EstRefusal): Promise<Recorded> {
    this.observer.denied('est', refusal.rule, refusal.code);
    const receipt = await this.audit.record({
      v: 1,
      kind: 'denied',
      id: randomUUID(),
      path: 'est',
      requester,
      policyHash: this.policy.current.hash,
      rule: refusal.rule,
      csrSha256: refusal.csrSha256 ?? null,
      at: new Date().toISOString(),
      code: refusal.code,
      reason: refusal.reason,
      requestedSpiffeId: refusal.requestedSpiffeId ?? null,
    });
    return receipt.ok ? { ok: true } : { ok: false, retryAfterSeconds: receipt.retryAfterSeconds, reason: receipt.reason };
  }
}
