// Refusals grouped by the rule that refused and the refusal code, over time, with the events and
// their reasons behind each group.

import type { Paged, RefusalEvent, RefusalGroup, RefusalSeries } from '../../ledger/dashboard-queries.js';
import { html, jsonData, type Html } from './html.js';
import { count, query, when, windowSelect } from './layout.js';

/** Groups drawn as their own line; the rest are summed into one. */
const CHARTED = 6;

export function refusalsBody(window: string, windowSeconds: number, groups: RefusalGroup[], series: RefusalSeries, now: Date): Html {
  const top = groups.slice(0, CHARTED).map((g) => `${g.rule} · ${g.code}`);
  const lines = new Map<string, [number, number][]>(top.map((k) => [k, []]));
  const other: Map<number, number> = new Map();
  for (const p of series.points) {
    const k = `${p.rule} · ${p.code}`;
    const line = lines.get(k);
    if (line) line.push([p.t, p.n]);
    else other.set(p.t, (other.get(p.t) ?? 0) + p.n);
  }
  const step = series.bucketSeconds;
  const nowS = Math.floor(now.getTime() / 1000);
  const to = nowS - (nowS % step) + step;
  const data = {
    from: to - Math.ceil(windowSeconds / step) * step,
    to,
    step,
    series: [...[...lines].map(([label, points]) => ({ label, points })), ...(other.size ? [{ label: 'other', points: [...other] }] : [])],
  };
  return html`<form method="get" action="/ui/refusals" class="filters" data-autosubmit>
      ${windowSelect('window', window)} <button type="submit">Show</button>
    </form>
    <figure class="chart-box wide">
      <figcaption>Refusals per ${step >= 3600 ? `${step / 3600} h` : `${step / 60} min`}, by rule and code</figcaption>
      <div class="chart" data-chart="chart-refusals"></div>
      ${jsonData('chart-refusals', data)}
    </figure>
    ${
      groups.length === 0
        ? html`<p id="no-refusals">No refusals in the last ${window}.</p>`
        : html`<table id="refusal-groups">
            <thead>
              <tr>
                <th>Rule</th>
                <th>Code</th>
                <th class="num">Refusals</th>
                <th>Last</th>
              </tr>
            </thead>
            <tbody>
              ${groups.map(
                (g) =>
                  html`<tr>
                    <td>${g.rule}</td>
                    <td>${g.code}</td>
                    <td class="num" data-count="${g.refusals}">
                      <a href="${query('/ui/refusals/events', { rule: g.rule, code: g.code, window })}">${count(g.refusals)}</a>
                    </td>
                    <td>${when(g.last)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

export function refusalEventsBody(rule: string, code: string, window: string, page: Paged<RefusalEvent>, next: string | null): Html {
  return html`<p>
      Rule <strong>${rule}</strong>, code <strong>${code}</strong>, last ${window}.
      <a href="${query('/ui/refusals', { window })}">All refusals</a>
    </p>
    ${
      page.items.length === 0
        ? html`<p>No refusals.</p>`
        : html`<table id="refusal-events">
            <thead>
              <tr>
                <th>When</th>
                <th>Path</th>
                <th>Requester</th>
                <th>Asked for</th>
                <th>Reason</th>
                <th>Client</th>
                <th class="num">Times</th>
              </tr>
            </thead>
            <tbody>
              ${page.items.map(
                (e) =>
                  html`<tr>
                    <td>${when(e.denied_at)}</td>
                    <td>${e.path}</td>
                    <td>${e.requester_kind}: ${e.requester_id}</td>
                    <td class="mono">${e.requested_spiffe_id ?? '—'}</td>
                    <td>${e.reason}</td>
                    <td class="mono">${e.client_address ?? '—'}</td>
                    <td class="num">${count(e.repeat_count)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${next ? html`<p><a href="${next}" rel="next">Older</a></p>` : ''}`;
}
