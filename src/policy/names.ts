// Whether a requester could be issued a certificate for some names, asked before there is a CSR:
// ACME decides at newOrder which identifiers an account may even try to validate, so that nobody
// proves control of a name the policy would refuse at finalize.
//
// The answer comes from evaluate itself, so it cannot drift from the decision made at issuance:
// the names are evaluated with each key algorithm the guardrails allow, and allowed if any would be.

import { evaluate } from './evaluate.js';
import type { DenialCode, EnrollmentPath, Policy, Requester } from './types.js';

export type NamesDecision =
  | { readonly allowed: true; readonly rule: string; readonly spiffeId: string }
  | { readonly allowed: false; readonly rule: string; readonly code: DenialCode; readonly reason: string };

export function previewNames(policy: Policy, path: EnrollmentPath, requester: Requester, dnsNames: readonly string[]): NamesDecision {
  let refusal: NamesDecision | null = null;
  for (const keyAlgorithm of policy.guardrails.keyAlgorithms) {
    const d = evaluate(policy, { path, requester, keyAlgorithm, spiffeId: null, dnsNames, ipAddresses: [], lifetimeSeconds: null });
    if (d.allowed) return { allowed: true, rule: d.rule, spiffeId: d.spiffeId };
    // A refusal for the key alone says nothing about the names; keep looking, and keep the
    // first refusal that is about something else.
    if (refusal === null || (refusal.code === 'key-not-allowed' && d.code !== 'key-not-allowed')) {
      refusal = { allowed: false, rule: d.rule, code: d.code, reason: d.reason };
    }
  }
  return refusal ?? { allowed: false, rule: 'guardrails', code: 'key-not-allowed', reason: 'the guardrails allow no key algorithm' };
}
