// SPIFFE ID (and DNS name) templates: literal text with `{expr}` placeholders, where expr is a
// variable followed by `.name` or `["quoted name"]` accessors:
//
//   spiffe://{trustDomain}/ns/{claims["kubernetes.io"].namespace}/sa/{claims["kubernetes.io"].serviceaccount.name}
//
// Templates are compiled when the policy loads, so a typo is a load error with a line number
// rather than a denial at three in the morning. Rendering substitutes values that come from the
// requester (token claims, account bindings, names), so every substituted value must be a single,
// harmless path segment: a claim of "../../admin" or "a/b" must never reshape the ID it lands in.
// The one exception is the whole template `{requester.spiffeId}`, which hands an mTLS requester
// its own, already verified ID back.

import { TEMPLATE_ROOTS, type Requester, type Template, type TemplatePart, type TemplateRoot } from './types.js';

export type TemplateRef = Extract<TemplatePart, { kind: 'ref' }>;

export type CompileResult =
  | { readonly ok: true; readonly template: Template }
  | { readonly ok: false; readonly reason: string; /** 0-based, into the template source */ readonly offset: number };

export type RenderResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

export interface TemplateVariables {
  readonly trustDomain: string;
  readonly requester: Requester;
  /** Token claims; only token requesters have them. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** The ACME external-account binding name. */
  readonly binding?: string | null | undefined;
  /** The first requested DNS name. */
  readonly dnsName?: string | null | undefined;
}

/** What a substituted value must look like where it lands. */
export interface ValueRule {
  readonly test: (value: string) => boolean;
  /** Completes "… is not <describe>". */
  readonly describe: string;
}

/** The fields each kind of requester offers to `{requester.<field>}`. */
export const REQUESTER_FIELDS: { readonly [K in Requester['kind']]: readonly string[] } = {
  token: ['issuer', 'subject'],
  svid: ['spiffeId', 'serial'],
  'acme-account': ['accountId', 'binding'],
  'est-client': ['name', 'label', 'spiffeId'],
};
const ALL_REQUESTER_FIELDS = [...new Set(Object.values(REQUESTER_FIELDS).flat())];

const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;

/** A SPIFFE path segment: SPIFFE's path characters only, not empty, not "." or "..". */
export function isSpiffeSegment(s: string): boolean {
  return SEGMENT_RE.test(s) && s !== '.' && s !== '..';
}

export const SPIFFE_SEGMENT: ValueRule = Object.freeze({
  test: isSpiffeSegment,
  describe: 'a valid SPIFFE path segment (letters, digits, ".", "-", "_"; not "." or "..")',
});

const WHOLE_REQUESTER_ID = '{requester.spiffeId}';

// ---------------------------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------------------------

const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;

class TemplateSyntaxError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}
}

export function compileTemplate(source: string): CompileResult {
  if (source === WHOLE_REQUESTER_ID) {
    return { ok: true, template: Object.freeze({ kind: 'requester-id', source }) };
  }
  const parts: TemplatePart[] = [];
  let literal = '';
  try {
    let i = 0;
    while (i < source.length) {
      const c = source[i];
      if (c === '{') {
        if (literal !== '') parts.push(Object.freeze({ kind: 'literal', text: literal }));
        literal = '';
        const { ref, end } = parseRef(source, i);
        parts.push(ref);
        i = end;
      } else if (c === '}') {
        throw new TemplateSyntaxError('"}" without a matching "{"', i);
      } else {
        literal += c;
        i++;
      }
    }
  } catch (e) {
    if (e instanceof TemplateSyntaxError) return { ok: false, reason: e.reason, offset: e.offset };
    throw e;
  }
  if (literal !== '') parts.push(Object.freeze({ kind: 'literal', text: literal }));
  const constant = parts.every((p) => p.kind === 'literal') ? parts.map((p) => (p as { text: string }).text).join('') : null;
  return { ok: true, template: Object.freeze({ kind: 'parts', source, parts: Object.freeze(parts), constant }) };
}

/** Parses the placeholder opening at `open`; throws TemplateSyntaxError (caught by the caller). */
function parseRef(s: string, open: number): { ref: TemplateRef; end: number } {
  let p = skipSpaces(s, open + 1);
  const rootAt = p;
  const root = readIdent(s, p);
  if (root === null) throw new TemplateSyntaxError(unexpected(s, p, 'a variable name'), p);
  p += root.length;
  if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
    throw new TemplateSyntaxError(`unknown variable "${root}"; known: ${TEMPLATE_ROOTS.join(', ')}`, rootAt);
  }
  const path: string[] = [];
  for (;;) {
    const c = s[p];
    if (c === '.') {
      const name = readIdent(s, p + 1);
      if (name === null) throw new TemplateSyntaxError(unexpected(s, p + 1, 'a name after "."'), p + 1);
      path.push(name);
      p += 1 + name.length;
    } else if (c === '[') {
      const q = s[p + 1];
      if (q !== '"' && q !== "'") throw new TemplateSyntaxError(unexpected(s, p + 1, 'a quoted name after "["'), p + 1);
      const close = s.indexOf(q, p + 2);
      if (close === -1) throw new TemplateSyntaxError(`unterminated quoted name`, p + 1);
      const name = s.slice(p + 2, close);
      if (name === '') throw new TemplateSyntaxError('empty quoted name', p + 1);
      if (s[close + 1] !== ']') throw new TemplateSyntaxError(unexpected(s, close + 1, '"]"'), close + 1);
      path.push(name);
      p = close + 2;
    } else {
      p = skipSpaces(s, p);
      if (s[p] === '}') break;
      throw new TemplateSyntaxError(p >= s.length ? '"{" is never closed' : unexpected(s, p, '".", "[" or "}"'), p >= s.length ? open : p);
    }
  }
  const shape = checkShape(root as TemplateRoot, path);
  if (shape !== null) throw new TemplateSyntaxError(shape, rootAt);
  const ref: TemplateRef = Object.freeze({
    kind: 'ref',
    root: root as TemplateRoot,
    path: Object.freeze(path),
    source: s.slice(open, p + 1),
  });
  return { ref, end: p + 1 };
}

/** Catches what can be known without a request: `{trustDomain.x}`, `{requester.nmae}`, `{claims}`. */
function checkShape(root: TemplateRoot, path: readonly string[]): string | null {
  switch (root) {
    case 'trustDomain':
    case 'binding':
    case 'dnsName':
      return path.length === 0 ? null : `"${root}" is a string and has no fields`;
    case 'claims':
      return path.length > 0 ? null : '"claims" needs a claim name, e.g. {claims.sub}';
    case 'requester':
      if (path.length === 1 && ALL_REQUESTER_FIELDS.includes(path[0]!)) return null;
      return `"requester" needs exactly one field of: ${ALL_REQUESTER_FIELDS.join(', ')}`;
  }
}

function readIdent(s: string, at: number): string | null {
  IDENT_RE.lastIndex = at;
  const m = IDENT_RE.exec(s);
  return m === null ? null : m[0];
}

function skipSpaces(s: string, at: number): number {
  while (s[at] === ' ') at++;
  return at;
}

function unexpected(s: string, at: number, wanted: string): string {
  return at >= s.length ? `expected ${wanted}, found the end of the template` : `expected ${wanted}, found ${JSON.stringify(s[at])}`;
}

/** The placeholders of a template, for load-time checks of what they refer to. */
export function templateRefs(t: Template): readonly TemplateRef[] {
  if (t.kind === 'requester-id') {
    return [{ kind: 'ref', root: 'requester', path: ['spiffeId'], source: WHOLE_REQUESTER_ID }];
  }
  return t.parts.filter((p): p is TemplateRef => p.kind === 'ref');
}

/**
 * Why `ref` can never have a value for requesters of `kind` (a load error), or null if it can.
 * `{binding}` and `{requester.label}` may still be unset at run time; that is a denial then.
 */
export function refUnavailableReason(ref: TemplateRef, kind: Requester['kind']): string | null {
  if (ref.root === 'claims' && kind !== 'token') return `${ref.source}: only token requesters have claims`;
  if (ref.root === 'binding' && kind !== 'acme-account') return `${ref.source}: only ACME requesters have a binding`;
  if (ref.root === 'requester' && !REQUESTER_FIELDS[kind].includes(ref.path[0]!)) {
    return `${ref.source}: ${kind} requesters have ${REQUESTER_FIELDS[kind].map((f) => `requester.${f}`).join(' and ')}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/** Renders a template; never throws. `rule` is what each substituted value must satisfy. */
export function renderTemplate(t: Template, vars: TemplateVariables, rule: ValueRule = SPIFFE_SEGMENT): RenderResult {
  if (t.kind === 'requester-id') {
    const r = vars.requester;
    // An EST client has one only when it presented a current certificate from this CA.
    const id = r.kind === 'svid' ? r.spiffeId : r.kind === 'est-client' ? (r.spiffeId ?? null) : null;
    if (id === null) return { ok: false, reason: `${t.source}: this ${r.kind} requester has no SPIFFE ID` };
    return { ok: true, value: id };
  }
  if (t.constant !== null) return { ok: true, value: t.constant };
  let out = '';
  for (const part of t.parts) {
    if (part.kind === 'literal') {
      out += part.text;
      continue;
    }
    const value = resolve(part, vars);
    if (value === undefined || value === null) return { ok: false, reason: `${part.source} has no value` };
    if (typeof value !== 'string') {
      return { ok: false, reason: `${part.source} is ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not a string` };
    }
    if (!rule.test(value)) return { ok: false, reason: `${part.source} is ${show(value)}, which is not ${rule.describe}` };
    out += value;
  }
  return { ok: true, value: out };
}

function resolve(ref: TemplateRef, vars: TemplateVariables): unknown {
  let v: unknown;
  switch (ref.root) {
    case 'trustDomain':
      v = vars.trustDomain;
      break;
    case 'claims':
      v = vars.claims;
      break;
    case 'requester':
      v = vars.requester;
      break;
    case 'binding':
      v = vars.binding;
      break;
    case 'dnsName':
      v = vars.dnsName;
      break;
  }
  for (const key of ref.path) {
    // Own properties only: "{claims.constructor}" must find nothing, not Object.
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

// ---------------------------------------------------------------------------------------------
// The rendered ID
// ---------------------------------------------------------------------------------------------

const MAX_SPIFFE_ID_LENGTH = 2048;

/**
 * Why `id` is not a valid SPIFFE ID with a path inside `trustDomain`, or null when it is. Run on
 * every rendered ID: `{requester.spiffeId}` is substituted whole and unchecked, and for the rest
 * the load-time check of the literal text used stand-in values, so the whole is checked again.
 */
export function spiffeIdProblem(id: string, trustDomain: string): string | null {
  const prefixLength = 9 + trustDomain.length; // "spiffe://" + trust domain
  if (!id.startsWith('spiffe://') || !id.startsWith(trustDomain, 9) || id.charCodeAt(prefixLength) !== 0x2f) {
    return `${show(id)} is not in trust domain "${trustDomain}"`;
  }
  if (id.length > MAX_SPIFFE_ID_LENGTH) return `${show(id)} is longer than ${MAX_SPIFFE_ID_LENGTH} bytes`;
  let segStart = prefixLength + 1;
  for (let i = segStart; i <= id.length; i++) {
    const c = i === id.length ? 0x2f : id.charCodeAt(i);
    if (c === 0x2f) {
      const len = i - segStart;
      if (len === 0) return `${show(id)} has an empty path segment`;
      if (id.charCodeAt(segStart) === 0x2e && (len === 1 || (len === 2 && id.charCodeAt(segStart + 1) === 0x2e))) {
        return `${show(id)} has a "." or ".." path segment`;
      }
      segStart = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f)) {
      return `${show(id)} has a character a SPIFFE ID path may not contain`;
    }
  }
  return null;
}
