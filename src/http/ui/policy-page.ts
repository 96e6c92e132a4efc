// Policy: the rules in the order they are tried, with how often each allowed and refused over a
// window, beside the decisions no rule of this policy owns: guardrails and default-deny, the
// protocol checks made before the policy (authentication, CSR), and rules of earlier policies.

import type { RuleHits } from '../../ledger/dashboard-queries.js';
import type { Policy } from '../../policy/index.js';
import { RESERVED_RULE_NAMES } from '../../policy/index.js';
import { html, type Html } from './html.js';
import { count, span, when, windowSelect } from './layout.js';

export function policyBody(policy: Policy, loadedAt: Date, window: string, hits: RuleHits[]): Html {
  const byRule = new Map(hits.map((h) => [h.rule, h]));
  const current = new Set([...policy.rules.map((r) => r.name), ...RESERVED_RULE_NAMES]);
  const earlier = hits.filter((h) => !current.has(h.rule)).sort((a, b) => a.rule.localeCompare(b.rule));
  const cells = (name: string): Html => {
    const h = byRule.get(name);
    return html`<td class="num" data-issued="${h?.issued ?? 0}">${count(h?.issued ?? 0)}</td>
      <td class="num" data-refused="${h?.refused ?? 0}">${count(h?.refused ?? 0)}</td>`;
  };
  const g = policy.guardrails;
  return html`<form method="get" action="/ui/policy" class="filters" data-autosubmit>
      ${windowSelect('window', window)} <button type="submit">Show</button>
    </form>
    <p>
      Policy <span class="mono" id="policy-hash">${policy.hash}</span>, loaded ${when(loadedAt)}. Guardrails: trust domain
      <strong>${g.trustDomain}</strong>, keys ${g.keyAlgorithms.join(', ')}, at most ${span(g.maxLifetimeSeconds)}.
    </p>
    <table id="rules">
      <thead>
        <tr>
          <th>#</th>
          <th>Rule</th>
          <th>Paths</th>
          <th>Requester</th>
          <th>Grants</th>
          <th class="num">Issued</th>
          <th class="num">Refused</th>
        </tr>
      </thead>
      <tbody>
        ${policy.rules.map(
          (r, i) =>
            html`<tr data-rule="${r.name}">
              <td>${i + 1}</td>
              <td>${r.name}</td>
              <td>${r.paths.join(', ')}</td>
              <td>${r.requester.kind}</td>
              <td class="mono">
                ${r.grant.spiffeId.source}${r.grant.spiffeIdScope === 'subtree' ? ' (subtree)' : ''}, ${span(r.grant.defaultLifetimeSeconds)} (max
                ${span(r.grant.maxLifetimeSeconds)})
              </td>
              ${cells(r.name)}
            </tr>`,
        )}
        ${RESERVED_RULE_NAMES.map(
          (name) =>
            html`<tr data-rule="${name}" class="reserved">
              <td></td>
              <td>${name}</td>
              <td colspan="3">
                ${name === 'guardrails' ? 'refused before any rule: key, lifetime or trust domain outside the guardrails' : 'no rule matched'}
              </td>
              ${cells(name)}
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      earlier.length
        ? html`<h2>Other decisions: checks before the policy, and rules of earlier policies</h2>
            <table id="earlier-rules">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th class="num">Issued</th>
                  <th class="num">Refused</th>
                </tr>
              </thead>
              <tbody>
                ${earlier.map(
                  (h) =>
                    html`<tr data-rule="${h.rule}">
                      <td>${h.rule}</td>
                      ${cells(h.rule)}
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }`;
}
