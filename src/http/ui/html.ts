// HTML built from tagged templates: every interpolated value is escaped unless it is already
// HTML made here, so a SPIFFE ID, a refusal reason or a requester name can never become markup.

const HTML = Symbol('html');

/** Markup produced by `html` (or by `json` inside a data element): safe to embed as is. */
export interface Html {
  readonly [HTML]: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return (v as readonly Value[]).map(render).join('');
  if (typeof v === 'object') return (v as Html)[HTML];
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return { [HTML]: out };
}

export function toText(h: Html): string {
  return h[HTML];
}

/**
 * Data for the page's script, in `<script type="application/json">`: never executed, so the CSP
 * allows it. `<` is escaped so the data cannot close the element.
 */
export function jsonData(id: string, data: unknown): Html {
  const text = JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return { [HTML]: `<script type="application/json" id="${escapeHtml(id)}">${text}</script>` };
}
