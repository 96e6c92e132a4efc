// evaluate(policy, input) -> Decision: the one place that decides who gets which certificate.
//
// Pure and synchronous; it runs on every issuance, so everything that does not depend on the
// request was prepared by parsePolicy. Order of judgement:
//   1. the key algorithm against the guardrails (no rule can allow what they forbid);
//   2. the first rule whose paths and requester matcher fit the request decides, allow or deny;
//      none fits: default deny;
//   3. within that rule: key algorithm, SPIFFE ID, DNS names, IP addresses, lifetime.
// Every refusal names the rule responsible and says why in words an operator can act on.

import { DNS_LABEL, compileDnsMatcher, dnsMatches, isHostname } from './dns.js';
import { formatDuration } from './duration.js';
import { globMatches } from './glob.js';
import { parseIp, rangeContains } from './ip.js';
import { renderTemplate, spiffeIdProblem, type TemplateVariables } from './template.js';
import type { ClaimMatcher, CompiledRule, Decision, DenialCode, DnsMatcher, Policy, PolicyInput, Requester, RequesterMatcher } from './types.js';

export function evaluate(policy: Policy, input: PolicyInput): Decision {
  const g = policy.guardrails;
  if (!g.keyAlgorithms.includes(input.keyAlgorithm)) {
    return deny('guardrails', 'key-not-allowed', `key algorithm ${input.keyAlgorithm} is not allowed (allowed: ${g.keyAlgorithms.join(', ')})`);
  }
  for (const rule of policy.rules) {
    if (rule.paths.includes(input.path) && requesterMatches(rule.requester, input.requester)) {
      return decide(policy, rule, input);
    }
  }
  return deny('default-deny', 'no-matching-rule', `no rule matches this ${input.requester.kind} requester on the ${input.path} path`);
}

function deny(rule: string, code: DenialCode, reason: string): Decision {
  return { allowed: false, rule, code, reason };
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

function requesterMatches(m: RequesterMatcher, r: Requester): boolean {
  switch (m.kind) {
    case 'token':
      if (r.kind !== 'token' || r.issuer !== m.issuer) return false;
      for (const c of m.claims) if (!claimMatches(c, r.claims)) return false;
      return true;
    case 'svid':
      return r.kind === 'svid' && globMatches(m.spiffeId, r.spiffeId);
    case 'acme':
      return r.kind === 'acme-account' && (m.binding === null || (r.binding !== null && globMatches(m.binding, r.binding)));
    case 'est':
      return r.kind === 'est-client' && estMatches(m, r);
  }
}

function estMatches(m: Extract<RequesterMatcher, { kind: 'est' }>, r: Extract<Requester, { kind: 'est-client' }>): boolean {
  if (m.name !== null && !globMatches(m.name, r.name)) return false;
  if (m.label !== null && (r.label === null || !globMatches(m.label, r.label))) return false;
  if (m.auth !== null && (r.auth === undefined || !m.auth.includes(r.auth))) return false;
  if (m.spiffeId !== null && (r.spiffeId == null || !globMatches(m.spiffeId, r.spiffeId))) return false;
  if (m.subject !== null && (r.certificate === null || !globMatches(m.subject, r.certificate.subject))) return false;
  if (m.san !== null && (r.certificate === null || !r.certificate.sans.some((s) => globMatches(m.san!, s)))) return false;
  return true;
}

/** A string claim matches if any glob does; an array claim if any of its strings does. */
function claimMatches(c: ClaimMatcher, claims: Readonly<Record<string, unknown>>): boolean {
  const value = lookupClaim(c, claims, 0);
  if (typeof value === 'string') return anyGlob(c, value);
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'string' && anyGlob(c, v)) return true;
  }
  return false;
}

function anyGlob(c: ClaimMatcher, value: string): boolean {
  for (const g of c.globs) if (globMatches(g, value)) return true;
  return false;
}

/**
 * Walks a dotted claim path where keys may themselves contain dots, so "kubernetes.io.namespace"
 * finds claims["kubernetes.io"].namespace as well as claims.kubernetes.io.namespace. When more
 * than one reading finds a value, the claim is ambiguous and matches nothing: a token must not
 * match a rule on one reading and be granted an identity (templates read the nested path) from
 * another.
 */
function lookupClaim(c: ClaimMatcher, node: unknown, from: number): unknown {
  const found: unknown[] = [];
  collectClaim(c, node, from, found);
  return found.length === 1 ? found[0] : undefined;
}

function collectClaim(c: ClaimMatcher, node: unknown, from: number, found: unknown[]): void {
  if (from === c.segments.length) {
    if (node !== undefined) found.push(node);
    return;
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const spans = c.spans[from]!;
  for (let k = spans.length - 1; k >= 0 && found.length < 2; k--) {
    const key = spans[k]!;
    if (Object.hasOwn(node, key)) collectClaim(c, (node as Record<string, unknown>)[key], from + k + 1, found);
  }
}

// ---------------------------------------------------------------------------------------------
// Deciding, within the rule that matched
// ---------------------------------------------------------------------------------------------

function decide(policy: Policy, rule: CompiledRule, input: PolicyInput): Decision {
  const grant = rule.grant;
  const name = rule.name;
  if (!grant.keyAlgorithms.includes(input.keyAlgorithm)) {
    return deny(name, 'key-not-allowed', `rule "${name}" allows key algorithms ${grant.keyAlgorithms.join(', ')}, not ${input.keyAlgorithm}`);
  }

  const r = input.requester;
  const vars: TemplateVariables = {
    trustDomain: policy.guardrails.trustDomain,
    requester: r,
    claims: r.kind === 'token' ? r.claims : undefined,
    binding: r.kind === 'acme-account' ? r.binding : undefined,
    dnsName: input.dnsNames[0] ?? null,
  };

  const id = renderTemplate(grant.spiffeId, vars);
  if (!id.ok) return deny(name, 'identity-not-allowed', `rule "${name}" cannot grant an identity: ${id.reason}`);
  // Values were checked one by one; the whole (the requester's own ID included) must still be a
  // well-formed ID in our trust domain.
  const bad = spiffeIdProblem(id.value, policy.guardrails.trustDomain);
  if (bad !== null) return deny(name, 'identity-not-allowed', `rule "${name}" cannot grant an identity: ${bad}`);
  let granted = id.value;
  if (grant.spiffeIdScope === 'subtree') {
    const under = `${id.value}/`;
    if (input.spiffeId === null) {
      return deny(name, 'identity-not-allowed', `rule "${name}" grants IDs under ${under}; the request must name one (a URI SAN in the CSR)`);
    }
    if (!input.spiffeId.startsWith(under)) {
      return deny(name, 'identity-not-allowed', `asked for ${input.spiffeId}, but rule "${name}" grants only IDs under ${under}`);
    }
    // The requested tail was never checked by a template: the whole must be a well-formed ID.
    const badTail = spiffeIdProblem(input.spiffeId, policy.guardrails.trustDomain);
    if (badTail !== null) return deny(name, 'identity-not-allowed', `asked for a malformed SPIFFE ID: ${badTail}`);
    granted = input.spiffeId;
  } else if (input.spiffeId !== null && input.spiffeId !== id.value) {
    return deny(name, 'identity-not-allowed', `asked for ${input.spiffeId}, but rule "${name}" grants ${id.value}`);
  }

  const dnsDenial = checkDnsNames(rule, input.dnsNames, vars);
  if (dnsDenial !== null) return deny(name, 'san-not-allowed', dnsDenial);

  for (const ip of input.ipAddresses) {
    const bytes = parseIp(ip);
    if (bytes === null) return deny(name, 'san-not-allowed', `${JSON.stringify(ip)} is not an IP address`);
    if (!grant.ipRanges.some((range) => rangeContains(range, bytes))) {
      const allowed = grant.ipRanges.length === 0 ? 'it allows no IP addresses' : `allowed: ${grant.ipRanges.map((x) => x.source).join(', ')}`;
      return deny(name, 'san-not-allowed', `IP address ${ip} is not allowed by rule "${name}" (${allowed})`);
    }
  }

  let lifetime = input.lifetimeSeconds;
  if (lifetime === null) {
    lifetime = grant.defaultLifetimeSeconds;
  } else if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
    return deny(name, 'lifetime-not-allowed', `requested lifetime ${lifetime} is not a positive whole number of seconds`);
  } else if (lifetime > grant.maxLifetimeSeconds) {
    return deny(
      name,
      'lifetime-not-allowed',
      `requested lifetime ${formatDuration(lifetime)} is longer than rule "${name}" allows (${formatDuration(grant.maxLifetimeSeconds)})`,
    );
  }

  return {
    allowed: true,
    rule: name,
    spiffeId: granted,
    dnsNames: input.dnsNames,
    ipAddresses: input.ipAddresses,
    lifetimeSeconds: lifetime,
    crlDistributionPoint: grant.crlDistributionPoint,
  };
}

/** Why one of the requested DNS names is refused, or null when all are allowed. */
function checkDnsNames(rule: CompiledRule, names: readonly string[], vars: TemplateVariables): string | null {
  if (names.length === 0) return null;
  const patterns = rule.grant.dnsNames;
  // Templated patterns are rendered once per request, and only if a request names any DNS name;
  // one that cannot render for this requester allows nothing.
  let matchers: (DnsMatcher | null)[] | null = null;
  for (const name of names) {
    if (!isHostname(name)) {
      return `DNS name ${JSON.stringify(name)} is not a valid host name${name.includes('*') ? ' (wildcard certificates are not issued)' : ''}`;
    }
    const lower = name.toLowerCase();
    let ok = false;
    for (let i = 0; i < patterns.length && !ok; i++) {
      const p = patterns[i]!;
      let m = p.fixed;
      if (m === null) {
        matchers ??= patterns.map((q) => (q.fixed !== null ? q.fixed : renderDnsPattern(q.template, vars)));
        m = matchers[i]!;
      }
      ok = m !== null && dnsMatches(m, lower);
    }
    if (!ok) {
      // The names as this requester may have them (templates rendered with its binding, claims,
      // ...), not the templates: "*.{binding}.vm..." tells a client nothing it can act on.
      matchers ??= patterns.map((q) => (q.fixed !== null ? q.fixed : renderDnsPattern(q.template, vars)));
      const shown = matchers.filter((m): m is DnsMatcher => m !== null).map((m) => (m.wildcard ? `*.${m.name}` : m.name));
      const allowed =
        patterns.length === 0
          ? 'it allows no DNS names'
          : shown.length === 0
            ? 'it allows this requester no DNS names'
            : `allowed: ${[...new Set(shown)].join(', ')}`;
      return `DNS name ${name} is not allowed by rule "${rule.name}" (${allowed})`;
    }
  }
  return null;
}

function renderDnsPattern(template: Parameters<typeof renderTemplate>[0], vars: TemplateVariables): DnsMatcher | null {
  const text = renderTemplate(template, vars, DNS_LABEL);
  if (!text.ok) return null;
  const m = compileDnsMatcher(text.value);
  return m.ok ? m.matcher : null;
}
