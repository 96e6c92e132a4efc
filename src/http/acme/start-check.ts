// ACME settings that cannot work, found before the server starts rather than at the first order:
// validation networks that do not parse, and accounts without a binding (externalAccountRequired
// false) that no policy rule serves. The operator gets one message saying what to change; a CA
// that starts and then refuses every order is worse than one that does not start.

import type { AcmeConfig } from '../../config/config.js';
import type { Policy, Template } from '../../policy/index.js';
import { ValidationNetworks } from './validation/networks.js';

export function acmeStartProblems(config: AcmeConfig, policy: Policy, policyFile: string): string[] {
  const problems: string[] = [];
  const networks = ValidationNetworks.parse(config.validation.allowedNetworks, config.validation.deniedNetworks);
  if (!networks.ok) problems.push(...networks.problems);
  if (!config.externalAccountRequired) {
    const why = unboundAccountsRefused(policy);
    if (why !== null) problems.push(unboundMessage(why, policyFile, policy.guardrails.trustDomain));
  }
  return problems;
}

/** Why every order of an account without a binding would be refused, or null if one could pass. */
function unboundAccountsRefused(policy: Policy): string | null {
  // The first rule that matches decides (policy/evaluate.ts), so only that one counts.
  const rule = policy.rules.find((r) => r.paths.includes('acme') && r.requester.kind === 'acme' && r.requester.binding === null);
  if (rule === undefined) return 'no policy rule matches ACME accounts without a binding';
  if (usesBinding(rule.grant.spiffeId))
    return `rule "${rule.name}", the first that matches them, builds its SPIFFE ID from {binding}, which they do not have`;
  if (rule.grant.dnsNames.every((p) => usesBinding(p.template))) {
    return `rule "${rule.name}", the first that matches them, allows them no DNS names`;
  }
  return null;
}

function usesBinding(t: Template): boolean {
  if (t.kind !== 'parts') return false;
  return t.parts.some((p) => p.kind === 'ref' && (p.root === 'binding' || (p.root === 'requester' && p.path[0] === 'binding')));
}

function unboundMessage(why: string, policyFile: string, trustDomain: string): string {
  return [
    `acme.externalAccountRequired is false, so ACME accounts may be created without a binding, but every order from them`,
    `would be refused: ${why} (policy ${policyFile}).`,
    `Either set acme.externalAccountRequired back to true (WORKLOAD_CA_ACME_EAB_REQUIRED=true), or add a rule for them`,
    `after the rules for bound accounts, with dnsNames narrowed to what such hosts may hold, for example:`,
    '',
    '  - name: acme-unbound',
    '    match:',
    '      paths: [acme]',
    '      acme: {}',
    '    grant:',
    "      spiffeId: 'spiffe://{trustDomain}/acme/{requester.accountId}/{dnsName}'",
    `      dnsNames: ["*.acme.${trustDomain}"]`,
    '      defaultLifetime: 24h',
    '      maxLifetime: 24h',
  ].join('\n');
}
