// Revocation from the dashboard: a confirmation that says how many live certificates a selection
// names, then the result. The counting and revoking are the operator revocation module's.

import { REVOCATION_REASONS } from '../../revocation/operator.js';
import { html, type Html } from './html.js';
import { count } from './layout.js';
import { reasonName } from './workloads-page.js';

/** What the operator picked: one certificate, one SPIFFE ID, or a node and everything under it. */
export type UiSelection = { readonly serial: string } | { readonly spiffeId: string } | { readonly subtree: string };

export function describeSelection(s: UiSelection): string {
  if ('serial' in s) return `the certificate with serial ${s.serial}`;
  if ('spiffeId' in s) return `the live certificates of ${s.spiffeId}`;
  return `the live certificates of ${s.subtree} and everything under it`;
}

const hidden = (s: UiSelection): Html => {
  const [name, value] = 'serial' in s ? ['serial', s.serial] : 'spiffeId' in s ? ['spiffeId', s.spiffeId] : ['subtree', s.subtree];
  return html`<input type="hidden" name="${name}" value="${value}" />`;
};

export function confirmBody(s: UiSelection, found: number, csrf: string, changedFrom?: number): Html {
  if (found === 0) {
    return html`<p id="revoke-count" data-count="0">
        Nothing to revoke: ${describeSelection(s)} holds no live certificate that is not already revoked.
      </p>
      <p><a href="/ui/workloads">Back to the workloads</a></p>`;
  }
  return html`${
      changedFrom !== undefined
        ? html`<p class="error" role="alert">The selection changed since you confirmed ${count(changedFrom)}: confirm again.</p>`
        : ''
    }
    <p id="revoke-count" data-count="${found}">
      This will revoke <strong>${count(found)} certificate${found === 1 ? '' : 's'}</strong>: ${describeSelection(s)}. Revocation cannot be undone;
      every replica refuses ${found === 1 ? 'it' : 'them'} within a second.
    </p>
    <form method="post" action="/ui/revoke" class="confirm">
      <input type="hidden" name="_csrf" value="${csrf}" />${hidden(s)}<input type="hidden" name="expected" value="${found}" />
      <label
        >Reason
        <select name="reason">
          ${REVOCATION_REASONS.map((r) => html`<option value="${r}">${r} ${reasonName(r)}</option>`)}
        </select></label
      >
      <label>Note for the record <input type="text" name="note" maxlength="200" placeholder="ticket, incident" /></label>
      <button type="submit" class="danger" id="confirm-revoke">Revoke ${count(found)}</button>
      <a href="/ui/workloads">Cancel</a>
    </form>`;
}

export function revokedBody(s: UiSelection, serials: readonly string[]): Html {
  return html`<p id="revoked-count" data-count="${serials.length}">Revoked ${count(serials.length)}: ${describeSelection(s)}.</p>
    <ul class="mono">
      ${serials.slice(0, 100).map((x) => html`<li><a href="/ui/certificates/${x}">${x}</a></li>`)}
    </ul>
    ${serials.length > 100 ? html`<p>and ${count(serials.length - 100)} more.</p>` : ''}`;
}
