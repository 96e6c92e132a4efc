// Workloads: the SPIFFE ID tree with live counts at every level, the certificates under a node,
// search by SPIFFE ID, serial or DNS name, and "expiring within" filters; one certificate in full.

import type { CertificateRow, Paged, TreeChild } from '../../ledger/dashboard-queries.js';
import type { CertificateDetail } from '../../ledger/inventory.js';
import { toPem } from '../../pki/certificate.js';
import { html, type Html } from './html.js';
import { count, query, span, when } from './layout.js';

/** The "expiring within" choices. */
export const EXPIRING: Record<string, number> = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800 };

export interface WorkloadsView {
  /** The node shown, a SPIFFE ID without a trailing slash; null: the trust domains. */
  readonly node: string | null;
  readonly children: TreeChild[];
  /** What the search box holds. */
  readonly q: string;
  readonly expiring: string;
  readonly status: 'live' | 'all';
  /** Null: nothing asked yet (the top of the tree, no filter). */
  readonly certificates: Paged<CertificateRow> | null;
  readonly csrf: string;
  readonly now: Date;
}

function breadcrumbs(node: string | null): Html {
  const crumbs: Html[] = [html`<a href="/ui/workloads">All trust domains</a>`];
  if (node !== null) {
    const m = /^spiffe:\/\/([^/]+)(\/.*)?$/.exec(node);
    if (m) {
      let id = `spiffe://${m[1]}`;
      crumbs.push(html`<a href="${query('/ui/workloads', { node: id })}">${m[1]}</a>`);
      const segs = (m[2] ?? '').split('/').filter(Boolean);
      for (let i = 0; i < segs.length; i += 2) {
        const step = segs.slice(i, i + 2).join('/');
        id += `/${step}`;
        crumbs.push(html`<a href="${query('/ui/workloads', { node: id })}">${step}</a>`);
      }
    }
  }
  return html`<nav class="crumbs" aria-label="SPIFFE ID tree">${crumbs.map((c, i) => html`${i ? ' › ' : ''}${c}`)}</nav>`;
}

/** A revoke button for a set of certificates: it leads to a confirmation, never straight to revocation. */
export function revokeButton(csrf: string, target: { serial: string } | { spiffeId: string } | { subtree: string }, label: string): Html {
  const [name, value] =
    'serial' in target ? ['serial', target.serial] : 'spiffeId' in target ? ['spiffeId', target.spiffeId] : ['subtree', target.subtree];
  return html`<form method="post" action="/ui/revoke/preview" class="inline">
    <input type="hidden" name="_csrf" value="${csrf}" /><input type="hidden" name="${name}" value="${value}" />
    <button type="submit" class="danger">${label}</button>
  </form>`;
}

function status(c: Pick<CertificateRow, 'not_after' | 'revoked_at'>, now: Date): Html {
  if (c.revoked_at !== null) return html`<span class="badge revoked">revoked</span>`;
  const left = (Date.parse(c.not_after) - now.getTime()) / 1000;
  return left > 0 ? html`<span class="badge live">live, ${span(left)} left</span>` : html`<span class="badge expired">expired</span>`;
}

export function certificateTable(page: Paged<CertificateRow>, now: Date, next: string | null): Html {
  if (page.items.length === 0) return html`<p id="no-certificates">No certificates match.</p>`;
  return html`<table id="certificates">
      <thead>
        <tr>
          <th>Serial</th>
          <th>SPIFFE ID</th>
          <th>Requested by</th>
          <th>Rule</th>
          <th>Path</th>
          <th>Expires</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        ${page.items.map(
          (c) =>
            html`<tr>
              <td class="mono"><a href="/ui/certificates/${c.serial}">${c.serial.slice(0, 16)}…</a></td>
              <td class="mono">${c.spiffe_id}${c.dns_names.length ? html`<br /><span class="small">${c.dns_names.join(', ')}</span>` : ''}</td>
              <td>${c.requester_kind}: ${c.requester_id}</td>
              <td>${c.rule}</td>
              <td>${c.path}</td>
              <td>${when(c.not_after)}</td>
              <td>${status(c, now)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${next ? html`<p><a href="${next}" rel="next">Next page</a></p>` : ''}`;
}

export function workloadsBody(v: WorkloadsView, nextHref: string | null): Html {
  const opt = (value: string, label: string, current: string): Html =>
    html`<option value="${value}" ${value === current ? html` selected` : ''}>${label}</option>`;
  const nodeTotal = v.children.reduce((a, c) => a + c.live, 0);
  return html`<form method="get" action="/ui/workloads" class="filters" data-autosubmit>
      <label>Search <input type="search" name="q" value="${v.q}" placeholder="SPIFFE ID, serial or DNS name" size="48" /></label>
      <label
        >Expiring within
        <select name="expiring">
          ${opt('', 'any time', v.expiring)} ${Object.keys(EXPIRING).map((k) => opt(k, k, v.expiring))}
        </select></label
      >
      <label
        >Status
        <select name="status">
          ${opt('live', 'live', v.status)} ${opt('all', 'all, with expired', v.status)}
        </select></label
      >
      ${v.node !== null && v.q === '' ? html`<input type="hidden" name="node" value="${v.node}" />` : ''}
      <button type="submit">Show</button>
    </form>
    ${breadcrumbs(v.node)}
    ${
      v.children.length > 0
        ? html`<table id="tree">
            <thead>
              <tr>
                <th>${v.node === null ? 'Trust domain' : 'Under this node'}</th>
                <th class="num">Live</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${v.children.map(
                (c) =>
                  html`<tr>
                    <td>
                      ${
                        c.deeper
                          ? html`<a class="node" href="${query('/ui/workloads', { node: c.id })}">${c.name}</a>`
                          : html`<a class="leaf" href="${query('/ui/workloads', { node: c.id })}">${c.name}</a>`
                      }
                    </td>
                    <td class="num" data-count="${c.live}">${count(c.live)}</td>
                    <td>${revokeButton(v.csrf, c.deeper ? { subtree: c.id } : { spiffeId: c.id }, `Revoke ${c.live}…`)}</td>
                  </tr>`,
              )}
            </tbody>
            <tfoot>
              <tr>
                <th>Total</th>
                <th class="num">${count(nodeTotal)}</th>
                <th></th>
              </tr>
            </tfoot>
          </table>`
        : ''
    }
    ${
      v.certificates === null
        ? html`<p class="note">Choose a node, search, or filter by expiry to list certificates.</p>`
        : html`<h2>Certificates${v.node !== null ? html` under <span class="mono">${v.node}</span>` : ''}</h2>
            ${v.node !== null && /^spiffe:\/\/[^/]+\/./.test(v.node) ? revokeButton(v.csrf, { subtree: v.node }, 'Revoke everything here…') : ''}
            ${certificateTable(v.certificates, v.now, nextHref)}`
    }`;
}

const REASONS: Record<number, string> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

export const reasonName = (r: number): string => REASONS[r] ?? String(r);

export function certificateBody(c: CertificateDetail, csrf: string, now: Date): Html {
  const live = Date.parse(c.not_after) > now.getTime();
  const row = (label: string, value: Html | string, id?: string): Html =>
    html`<tr><th>${label}</th><td${id ? html` id="${id}"` : ''}>${value}</td></tr>`;
  return html`<table class="detail" id="certificate">
      ${row('Serial', html`<span class="mono">${c.serial}</span>`)}
      ${row('SPIFFE ID', html`<a class="mono" href="${query('/ui/workloads', { node: c.spiffe_id })}">${c.spiffe_id}</a>`)}
      ${row('DNS names', c.dns_names.join(', ') || '—')} ${row('IP addresses', c.ip_addresses.join(', ') || '—')}
      ${row('Valid', `${when(c.not_before)} to ${when(c.not_after)}`)}
      ${row(
        'Status',
        c.revocation
          ? html`<span class="badge revoked">revoked</span> ${when(c.revocation.revoked_at)}, reason ${reasonName(c.revocation.reason)}, by
              <span class="mono">${JSON.stringify(c.revocation.revoked_by)}</span>`
          : live
            ? html`<span class="badge live">live, ${span((Date.parse(c.not_after) - now.getTime()) / 1000)} left</span>`
            : html`<span class="badge expired">expired</span>`,
        'status',
      )}
      ${row('Enrollment path', c.path)} ${row('Requested by', `${c.requester_kind}: ${c.requester_id}`)}
      ${row('Requester', html`<pre>${JSON.stringify(c.requester, null, 2)}</pre>`)} ${row('Allowed by rule', c.rule, 'rule')}
      ${row('Policy', html`<span class="mono">${c.policy_hash}</span>`)} ${row('Issued', when(c.issued_at))} ${row('Recorded', when(c.recorded_at))}
      ${row('Issuer key id', html`<span class="mono">${c.issuer_key_id}</span>`)}
      ${row('CSR SHA-256', html`<span class="mono">${c.csr_sha256}</span>`)} ${row('Audit event', html`<span class="mono">${c.event_id}</span>`)}
    </table>
    ${live && !c.revocation ? revokeButton(csrf, { serial: c.serial }, 'Revoke this certificate…') : ''}
    <details>
      <summary>PEM</summary>
      <pre>${toPem(Buffer.from(c.certificate, 'base64'))}</pre>
    </details>`;
}
