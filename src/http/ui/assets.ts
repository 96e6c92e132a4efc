// The dashboard's static files, all served by the CA itself (the machines that run a CA are often
// offline): uPlot read from its npm package, and the dashboard's own script and style sheet.
// Each URL carries a digest of the content, so browsers may cache it for a year.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AssetUrls } from './layout.js';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** `web/` at the top of the package: the same relative place from src/ and from dist/. */
const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

export function loadAssets(): { urls: AssetUrls; files: Map<string, Asset> } {
  const require = createRequire(import.meta.url);
  const sources = {
    uplotJs: { file: require.resolve('uplot/dist/uPlot.iife.min.js'), name: 'uplot', ext: 'js' },
    uplotCss: { file: require.resolve('uplot/dist/uPlot.min.css'), name: 'uplot', ext: 'css' },
    js: { file: `${WEB_DIR}dashboard.js`, name: 'dashboard', ext: 'js' },
    css: { file: `${WEB_DIR}dashboard.css`, name: 'dashboard', ext: 'css' },
  } as const;
  const files = new Map<string, Asset>();
  const urls = {} as Record<keyof AssetUrls, string>;
  for (const [key, s] of Object.entries(sources) as [keyof AssetUrls, (typeof sources)[keyof AssetUrls]][]) {
    const body = readFileSync(s.file);
    const name = `${s.name}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${s.ext}`;
    files.set(name, { body, type: s.ext === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8' });
    urls[key] = `/ui/assets/${name}`;
  }
  return { urls, files };
}
