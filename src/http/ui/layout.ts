// The frame every dashboard page shares, and the small formatters its pages use.

import { html, type Html } from './html.js';

/** Asset URLs carry a digest of their content, so they can be cached for a year. */
export interface AssetUrls {
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly js: string;
  readonly css: string;
}

export interface Frame {
  readonly title: string;
  readonly assets: AssetUrls;
  /** Present once signed in: the nav and the sign-out form need it. */
  readonly csrf?: string;
  readonly active?: 'overview' | 'workloads' | 'refusals' | 'policy';
  /** Seconds between reloads of a live page. */
  readonly refreshSeconds?: number;
}

const NAV = [
  ['overview', '/ui/', 'Overview'],
  ['workloads', '/ui/workloads', 'Workloads'],
  ['refusals', '/ui/refusals', 'Refusals'],
  ['policy', '/ui/policy', 'Policy'],
] as const;

export function page(f: Frame, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${f.title} · workload-ca</title>
    <link rel="stylesheet" href="${f.assets.uplotCss}" />
    <link rel="stylesheet" href="${f.assets.css}" />
    <script src="${f.assets.uplotJs}" defer></script>
    <script src="${f.assets.js}" defer></script>
  </head>
  <body${f.refreshSeconds ? html` data-refresh="${f.refreshSeconds}"` : ''}>
    <header>
      <a class="brand" href="/ui/">workload-ca</a>
      ${
        f.csrf === undefined
          ? ''
          : html`<nav>
                ${NAV.map(([key, href, label]) => html`<a href="${href}" ${f.active === key ? html` aria-current="page"` : ''}>${label}</a>`)}
              </nav>
              <form method="post" action="/ui/logout" class="signout">
                <input type="hidden" name="_csrf" value="${f.csrf}" /><button type="submit">Sign out</button>
              </form>`
      }
    </header>
    <main>
      <h1>${f.title}</h1>
      ${body}
    </main>
  </body>
</html>`;
}

export function errorBody(message: string): Html {
  return html`<p class="error" role="alert">${message}</p>
    <p><a href="/ui/">Back to the overview</a></p>`;
}

/** `2026-11-29 21:40:01Z`: sortable, unambiguous, no locale. */
export function when(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** A span of seconds the way an operator reads it: `3d 4h`, `42m`, `17s`. */
export function span(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, unit] of units) {
    if (rest >= size || (size === 1 && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return `${seconds < 0 ? '-' : ''}${parts.join(' ')}`;
}

export function ms(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
}

export const count = (n: number): string => n.toLocaleString('en-US');

/** Query strings built from parts, leaving out the absent ones. */
export function query(path: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The windows the Refusals and Policy pages offer. */
export const WINDOWS: Record<string, number> = { '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800 };

export function windowSelect(name: string, current: string): Html {
  return html`<label
    >Window
    <select name="${name}">
      ${Object.keys(WINDOWS).map((w) => html`<option value="${w}" ${w === current ? html` selected` : ''}>${w}</option>`)}
    </select></label
  >`;
}
