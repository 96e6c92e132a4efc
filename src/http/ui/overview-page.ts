// Overview: what an incident responder checks first. Live certificates, the last hour and day of
// issuances and refusals, how fast issuance is, whether the audit trail keeps up, how long the
// issuing CA has left, and which policy is in force.

import type { MinuteCount, Overview } from '../../ledger/dashboard-queries.js';
import type { MetricsFigures } from './metrics-text.js';
import { html, jsonData, type Html } from './html.js';
import { count, ms, span, when } from './layout.js';

export interface OverviewView {
  readonly overview: Overview;
  readonly metrics: MetricsFigures | null;
  readonly ca: { readonly subject: string; readonly notAfter: Date };
  readonly policy: { readonly hash: string; readonly loadedAt: Date };
  readonly mode: 'embedded' | 'production';
  readonly now: Date;
}

/** A chart's data: per-minute counts over [from, to), absent minutes filled with zeros by the script. */
function chart(id: string, title: string, from: number, to: number, series: [string, MinuteCount[]][]): Html {
  const data = {
    from,
    to,
    step: 60,
    series: series.map(([label, points]) => ({ label, points: points.filter((p) => p.t >= from).map((p) => [p.t, p.n]) })),
  };
  return html`<figure class="chart-box">
    <figcaption>${title}</figcaption>
    <div class="chart" data-chart="${id}"></div>
    ${jsonData(id, data)}
  </figure>`;
}

const sum = (rows: readonly { count: number }[]): number => rows.reduce((a, r) => a + r.count, 0);
const total = (points: readonly MinuteCount[], from: number): number => points.reduce((a, p) => a + (p.t >= from ? p.n : 0), 0);

export function overviewBody(v: OverviewView): Html {
  const o = v.overview;
  const nowS = Math.floor(v.now.getTime() / 1000);
  const to = nowS - (nowS % 60) + 60;
  const caLeft = (v.ca.notAfter.getTime() - v.now.getTime()) / 1000;
  const latency = v.metrics ? Object.entries(v.metrics.latency).sort(([a], [b]) => (a === 'all' ? 1 : b === 'all' ? -1 : a.localeCompare(b))) : [];
  return html`<section class="cards">
      <div class="card">
        <h2>Live certificates</h2>
        <p class="big" id="live-total">${count(sum(o.liveByTrustDomain))}</p>
      </div>
      <div class="card">
        <h2>Last hour</h2>
        <p class="big"><span id="issued-hour">${count(total(o.issuedPerMinute, to - 3600))}</span> issued</p>
        <p><span id="refused-hour">${count(total(o.refusedPerMinute, to - 3600))}</span> refused</p>
      </div>
      <div class="card${caLeft < 30 * 86400 ? ' warn' : ''}">
        <h2>Issuing CA</h2>
        <p class="big" id="ca-left">${caLeft > 0 ? span(caLeft) : 'expired'}</p>
        <p>left, until ${when(v.ca.notAfter)}</p>
        <p class="mono small">${v.ca.subject}</p>
      </div>
      <div class="card">
        <h2>Active policy</h2>
        <p class="mono" id="policy-hash" title="${v.policy.hash}">${v.policy.hash.slice(0, 19)}…</p>
        <p>loaded ${when(v.policy.loadedAt)} (${span((v.now.getTime() - v.policy.loadedAt.getTime()) / 1000)} ago)</p>
      </div>
      <div class="card">
        <h2>Audit trail</h2>
        ${
          v.metrics === null || v.metrics.queueDepth === null
            ? html`<p>queue: ${v.mode === 'embedded' ? 'in-process (embedded mode)' : 'unreadable'}</p>`
            : html`<p><span class="big" id="queue-depth">${count(v.metrics.queueDepth)}</span> jobs queued</p>
                <p>oldest ${span(v.metrics.queueOldestSeconds ?? 0)}</p>`
        }
        <p id="ledger-lag">
          ${
            o.ledgerLag
              ? html`ledger lag ${ms(o.ledgerLag.p50)} median, ${ms(o.ledgerLag.max)} max (${count(o.ledgerLag.rows)} in the last 5 min)`
              : 'ledger lag: no issuance in the last 5 min'
          }
        </p>
      </div>
    </section>

    <section class="charts">
      ${chart('chart-hour', 'Issued and refused per minute, last hour', to - 3600, to, [
        ['issued', o.issuedPerMinute],
        ['refused', o.refusedPerMinute],
      ])}
      ${chart('chart-day', 'Issued and refused per minute, last 24 hours', to - 86400, to, [
        ['issued', o.issuedPerMinute],
        ['refused', o.refusedPerMinute],
      ])}
    </section>

    <section class="tables">
      <div>
        <h2>Live per trust domain</h2>
        <table id="live-by-trust-domain">
          <thead>
            <tr>
              <th>Trust domain</th>
              <th class="num">Live</th>
            </tr>
          </thead>
          <tbody>
            ${o.liveByTrustDomain.map(
              (r) =>
                html`<tr>
                  <td><a href="/ui/workloads?node=${encodeURIComponent(`spiffe://${r.key}`)}">${r.key}</a></td>
                  <td class="num" data-count="${r.count}">${count(r.count)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div>
        <h2>Live per path</h2>
        <table id="live-by-path">
          <thead>
            <tr>
              <th>Path</th>
              <th class="num">Live</th>
            </tr>
          </thead>
          <tbody>
            ${o.liveByPath.map(
              (r) =>
                html`<tr>
                  <td>${r.key}</td>
                  <td class="num" data-count="${r.count}">${count(r.count)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div>
        <h2>Issuance latency</h2>
        ${
          latency.length === 0
            ? html`<p>No issuance since this server started.</p>`
            : html`<table id="latency">
                <thead>
                  <tr>
                    <th>Path</th>
                    <th class="num">p50</th>
                    <th class="num">p95</th>
                    <th class="num">p99</th>
                    <th class="num">Issued</th>
                  </tr>
                </thead>
                <tbody>
                  ${latency.map(
                    ([path, q]) =>
                      html`<tr>
                        <td>${path}</td>
                        <td class="num">${ms(q.p50)}</td>
                        <td class="num">${ms(q.p95)}</td>
                        <td class="num">${ms(q.p99)}</td>
                        <td class="num">${count(q.count)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
        <p class="note">
          CSR received to audit event queued, from this server's histogram since it started
          (${v.mode === 'production' ? 'this replica only; Prometheus has every replica' : 'every worker of this server'}).
        </p>
      </div>
    </section>`;
}
