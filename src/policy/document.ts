// From policy text to a compiled, immutable Policy, or to the complete list of what is wrong.
//
// Three stages, each reporting every problem it finds with the line an operator has to edit:
//   1. YAML syntax (the yaml parser's own errors and warnings);
//   2. shape (the JSON Schema, all errors);
//   3. meaning: rules widening the guardrails, bad templates, CIDRs and DNS patterns, duplicate
//      names. This runs for the guardrails and for every rule whose own shape is right, so one
//      malformed rule does not hide the mistakes in the others.
// A policy with any problem is refused whole: serving half a policy would grant by accident
// what the missing half was meant to deny.

import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject } from 'ajv';
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { compileDnsMatcher } from './dns.js';
import { formatDuration, parseDuration } from './duration.js';
import { compileGlob } from './glob.js';
import { parseCidr } from './ip.js';
import { POLICY_SCHEMA, REQUESTER_MATCHERS, type PolicyDocument, type RuleDocument } from './schema.js';
import { compileTemplate, refUnavailableReason, spiffeIdProblem, templateRefs } from './template.js';
import {
  ENROLLMENT_PATHS,
  type ClaimMatcher,
  type CompiledRule,
  type DnsPattern,
  type EnrollmentPath,
  type EstAuth,
  type Guardrails,
  type IpRange,
  type KeyAlgorithm,
  type Policy,
  type PolicyProblem,
  type Requester,
  type RequesterMatcher,
  type Template,
} from './types.js';

export type ParseResult = { readonly ok: true; readonly policy: Policy } | { readonly ok: false; readonly problems: PolicyProblem[] };

/** Names the evaluator uses for decisions no rule made; a rule of that name would muddle the ledger. */
export const RESERVED_RULE_NAMES = ['guardrails', 'default-deny'] as const;

const DEFAULT_KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256'];
const DEFAULT_MAX_LIFETIME_SECONDS = 24 * 3600;
const DEFAULT_LIFETIME_CAP_SECONDS = 3600;

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
ajv.addKeyword('x-expect');
const validateShape = ajv.compile<PolicyDocument>(POLICY_SCHEMA);

type Segment = string | number;

export function parsePolicy(text: string): ParseResult {
  const hash = `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}` as const;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const report = new Reporter(text, doc, lineCounter);

  // After a syntax error the tree is the parser's best guess; schema errors about a guess would
  // only send the reader after problems that are not there.
  for (const e of [...doc.errors, ...doc.warnings]) report.atOffset(e.pos[0], e.message);
  if (report.problems.length > 0) return report.fail();

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    report.atOffset(0, e instanceof Error ? e.message : String(e));
    return report.fail();
  }

  if (!validateShape(value)) {
    for (const e of validateShape.errors ?? []) report.schemaError(e, value);
  }
  if (!isObject(value)) return report.fail();

  const guardrails = report.clean(['guardrails']) ? compileGuardrails(value as unknown as PolicyDocument, report) : null;
  const rules: CompiledRule[] = [];
  const rawRules = (value as { rules?: unknown }).rules;
  if (Array.isArray(rawRules)) {
    // Decide which rules are well-formed before any semantic problem is added to the report.
    const wellFormed = rawRules.map((_, i) => report.clean(['rules', i]));
    rawRules.forEach((raw, i) => {
      if (guardrails === null || !wellFormed[i]) return;
      const rule = new RuleCompiler(raw as RuleDocument, i, guardrails, report).compile();
      if (rule !== null) rules.push(rule);
    });
    checkNames(rawRules, report);
  }

  if (report.problems.length > 0 || guardrails === null) return report.fail();
  return { ok: true, policy: Object.freeze({ hash, version: 1, guardrails, rules: Object.freeze(rules) }) };
}

// ---------------------------------------------------------------------------------------------
// Meaning
// ---------------------------------------------------------------------------------------------

/**
 * Compiles the guardrails. An unusable maxLifetime is reported and replaced by "unbounded" so
 * that the rules can still be checked for everything else (their lifetimes cannot be judged).
 */
function compileGuardrails(doc: PolicyDocument, report: Reporter): Guardrails {
  const g = doc.guardrails;
  let maxLifetimeSeconds = DEFAULT_MAX_LIFETIME_SECONDS;
  if (g.maxLifetime !== undefined) {
    maxLifetimeSeconds = positiveDuration(g.maxLifetime, ['guardrails', 'maxLifetime'], report) ?? Number.POSITIVE_INFINITY;
  }
  return Object.freeze({
    trustDomain: g.trustDomain,
    keyAlgorithms: Object.freeze([...((g.keyAlgorithms as readonly KeyAlgorithm[] | undefined) ?? DEFAULT_KEY_ALGORITHMS)]),
    maxLifetimeSeconds,
  });
}

function checkNames(rules: readonly unknown[], report: Reporter): void {
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const name = isObject(r) ? r['name'] : undefined;
    if (typeof name !== 'string') return;
    if ((RESERVED_RULE_NAMES as readonly string[]).includes(name)) {
      report.at(['rules', i, 'name'], `"${name}" is reserved for decisions no rule made`);
    }
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else report.at(['rules', i, 'name'], `"${name}" is already the name of rules[${first}]; every decision names its rule, so names must be unique`);
  });
}

const MATCHER_TO_REQUESTER = {
  token: 'token',
  svid: 'svid',
  acme: 'acme-account',
  est: 'est-client',
} as const satisfies Record<(typeof REQUESTER_MATCHERS)[number], Requester['kind']>;

/** Compiles one schema-valid rule, reporting every problem in it; null if there was any. */
class RuleCompiler {
  private failed = false;
  private readonly base: Segment[];

  constructor(
    private readonly doc: RuleDocument,
    index: number,
    private readonly guardrails: Guardrails,
    private readonly report: Reporter,
  ) {
    this.base = ['rules', index];
  }

  compile(): CompiledRule | null {
    const requester = this.requester();
    const kind = requester === null ? null : MATCHER_TO_REQUESTER[requester.kind];
    const scoped = this.spiffeIdTemplate(kind);
    const spiffeId = scoped?.template ?? null;
    const dnsNames = this.dnsPatterns(kind);
    const ipRanges = this.ipRanges();
    const keyAlgorithms = this.keyAlgorithms();
    const lifetimes = this.lifetimes();
    if (this.failed || requester === null || spiffeId === null || lifetimes === null) return null;
    return Object.freeze({
      name: this.doc.name,
      paths: Object.freeze([...((this.doc.match.paths as readonly EnrollmentPath[] | undefined) ?? ENROLLMENT_PATHS)]),
      requester,
      grant: Object.freeze({
        spiffeId,
        spiffeIdScope: scoped!.scope,
        dnsNames: Object.freeze(dnsNames),
        ipRanges: Object.freeze(ipRanges),
        keyAlgorithms: Object.freeze(keyAlgorithms),
        ...lifetimes,
        crlDistributionPoint: this.doc.grant.crlDistributionPoint ?? false,
      }),
    });
  }

  private problem(rel: readonly Segment[], message: string, offsetInValue?: number): void {
    this.failed = true;
    this.report.at([...this.base, ...rel], message, offsetInValue);
  }

  private requester(): RequesterMatcher | null {
    const m = this.doc.match;
    const present = REQUESTER_MATCHERS.filter((k) => m[k] !== undefined);
    if (present.length !== 1) {
      this.problem(
        ['match'],
        present.length === 0
          ? `needs exactly one requester matcher: ${REQUESTER_MATCHERS.join(', ')}`
          : `has ${present.join(' and ')}; a rule matches exactly one kind of requester, so write one rule per kind`,
      );
      return null;
    }
    const glob = (s: string | undefined) => (s === undefined ? null : compileGlob(s));
    if (m.token !== undefined) {
      const claims: ClaimMatcher[] = [];
      for (const [key, pattern] of Object.entries(m.token.claims ?? {})) {
        const segments = key.split('.');
        if (segments.some((s) => s === '')) {
          this.problem(['match', 'token', 'claims', key], `"${key}" is not a dotted claim path (empty name between dots)`);
          continue;
        }
        const globs = (typeof pattern === 'string' ? [pattern] : pattern).map(compileGlob);
        const spans = segments.map((_, i) => Object.freeze(segments.slice(i).map((__, k) => segments.slice(i, i + k + 1).join('.'))));
        claims.push(Object.freeze({ key, segments: Object.freeze(segments), spans: Object.freeze(spans), globs: Object.freeze(globs) }));
      }
      return Object.freeze({ kind: 'token', issuer: m.token.issuer, claims: Object.freeze(claims) });
    }
    if (m.svid !== undefined) return Object.freeze({ kind: 'svid', spiffeId: compileGlob(m.svid.spiffeId) });
    if (m.acme !== undefined) return Object.freeze({ kind: 'acme', binding: glob(m.acme.binding) });
    const est = m.est!;
    return Object.freeze({
      kind: 'est',
      label: glob(est.label),
      name: glob(est.name),
      auth: est.auth === undefined ? null : Object.freeze([...(est.auth as readonly EstAuth[])]),
      spiffeId: glob(est.spiffeId),
      subject: glob(est.subject),
      san: glob(est.san),
    });
  }

  /** Compiles a template and checks that each placeholder can have a value for this requester. */
  private template(rel: readonly Segment[], source: string, kind: Requester['kind'] | null): Template | null {
    const c = compileTemplate(source);
    if (!c.ok) {
      this.problem(rel, `invalid template at character ${c.offset + 1}: ${c.reason}`, c.offset);
      return null;
    }
    let usable = true;
    if (kind !== null) {
      for (const ref of templateRefs(c.template)) {
        const reason = refUnavailableReason(ref, kind);
        if (reason !== null) {
          this.problem(rel, reason);
          usable = false;
        }
      }
    }
    return usable ? c.template : null;
  }

  /** A trailing `/*` grants the subtree under the rest of the template. */
  private spiffeIdTemplate(kind: Requester['kind'] | null): { template: Template; scope: 'exact' | 'subtree' } | null {
    const rel = ['grant', 'spiffeId'];
    const written = this.doc.grant.spiffeId;
    const scope = written.endsWith('/*') ? 'subtree' : 'exact';
    const source = scope === 'subtree' ? written.slice(0, -2) : written;
    const td = this.guardrails.trustDomain;
    const t = this.template(rel, source, kind);
    if (t === null) return null;
    if (t.kind === 'requester-id') return { template: t, scope };
    if (!source.startsWith('spiffe://{trustDomain}/') && !source.startsWith(`spiffe://${td}/`)) {
      this.problem(
        rel,
        `must start with "spiffe://{trustDomain}/" or "spiffe://${td}/", or be exactly "{requester.spiffeId}" (optionally followed by "/*"): a rule cannot grant IDs outside the trust domain`,
      );
      return null;
    }
    // Placeholders render to one valid segment each, so the literal text alone decides whether
    // IDs can come out well formed; "x" stands in for every placeholder.
    const problem = spiffeIdProblem(sample(t, td), td);
    if (problem !== null) {
      this.problem(rel, `renders malformed SPIFFE IDs (placeholders shown as "x"): ${problem}`);
      return null;
    }
    return { template: t, scope };
  }

  private dnsPatterns(kind: Requester['kind'] | null): DnsPattern[] {
    const out: DnsPattern[] = [];
    (this.doc.grant.dnsNames ?? []).forEach((source, i) => {
      const rel = ['grant', 'dnsNames', i];
      const t = this.template(rel, source, kind);
      if (t === null) return;
      if (t.kind === 'requester-id') {
        this.problem(rel, '{requester.spiffeId} is a SPIFFE ID, not a DNS name');
        return;
      }
      const m = compileDnsMatcher(sample(t, this.guardrails.trustDomain));
      if (!m.ok) {
        this.problem(rel, t.constant === null ? `${m.reason} (placeholders shown as "x")` : m.reason);
        return;
      }
      out.push(Object.freeze({ source, template: t, fixed: t.constant === null ? null : m.matcher }));
    });
    return out;
  }

  private ipRanges(): IpRange[] {
    const out: IpRange[] = [];
    (this.doc.grant.ipAddresses ?? []).forEach((source, i) => {
      const r = parseCidr(source);
      if (r.ok) out.push(r.range);
      else this.problem(['grant', 'ipAddresses', i], r.reason);
    });
    return out;
  }

  private keyAlgorithms(): KeyAlgorithm[] {
    const allowed = this.guardrails.keyAlgorithms;
    const asked = this.doc.grant.keyAlgorithms as readonly KeyAlgorithm[] | undefined;
    if (asked === undefined) return [...allowed];
    asked.forEach((alg, i) => {
      if (!allowed.includes(alg)) {
        this.problem(
          ['grant', 'keyAlgorithms', i],
          `"${alg}" is not in guardrails.keyAlgorithms (${allowed.join(', ')}); a rule can narrow the guardrails, never widen them`,
        );
      }
    });
    return asked.filter((a) => allowed.includes(a));
  }

  private lifetimes(): { defaultLifetimeSeconds: number; maxLifetimeSeconds: number } | null {
    const g = this.doc.grant;
    const ceiling = this.guardrails.maxLifetimeSeconds;
    let max = ceiling;
    if (g.maxLifetime !== undefined) {
      const d = positiveDuration(g.maxLifetime, [...this.base, 'grant', 'maxLifetime'], this.report);
      if (d === null) {
        this.failed = true;
      } else if (d > ceiling) {
        this.problem(
          ['grant', 'maxLifetime'],
          `${formatDuration(d)} is longer than guardrails.maxLifetime (${formatDuration(ceiling)}); a rule can narrow the guardrails, never widen them`,
        );
      } else {
        max = d;
      }
    }
    let def = Math.min(DEFAULT_LIFETIME_CAP_SECONDS, max);
    if (g.defaultLifetime !== undefined) {
      const d = positiveDuration(g.defaultLifetime, [...this.base, 'grant', 'defaultLifetime'], this.report);
      if (d === null) {
        this.failed = true;
      } else if (d > max) {
        const whose = max === ceiling && g.maxLifetime === undefined ? 'guardrails.maxLifetime' : "this rule's maxLifetime";
        this.problem(['grant', 'defaultLifetime'], `${formatDuration(d)} is longer than ${whose} (${formatDuration(max)})`);
      } else {
        def = d;
      }
    }
    return this.failed ? null : { defaultLifetimeSeconds: def, maxLifetimeSeconds: max };
  }
}

function positiveDuration(value: number | string, path: readonly Segment[], report: Reporter): number | null {
  const d = parseDuration(value);
  if (!d.ok) {
    report.at(path, d.reason);
    return null;
  }
  if (d.seconds === 0) {
    report.at(path, 'must be longer than zero');
    return null;
  }
  return d.seconds;
}

/** The template rendered with "x" for every placeholder, to check what its literal text builds. */
function sample(t: Extract<Template, { kind: 'parts' }>, trustDomain: string): string {
  return t.parts.map((p) => (p.kind === 'literal' ? p.text : p.root === 'trustDomain' ? trustDomain : 'x')).join('');
}

// ---------------------------------------------------------------------------------------------
// Reporting, with line numbers
// ---------------------------------------------------------------------------------------------

interface Located {
  readonly segments: readonly Segment[];
  readonly problem: PolicyProblem;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

class Reporter {
  private readonly located: Located[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  get problems(): readonly Located[] {
    return this.located;
  }

  fail(): { ok: false; problems: PolicyProblem[] } {
    const problems = this.located.map((l) => l.problem);
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, problems };
  }

  /** True when no problem so far lies at or under `prefix`. */
  clean(prefix: readonly Segment[]): boolean {
    return !this.located.some((l) => prefix.every((s, i) => l.segments[i] === s));
  }

  atOffset(offset: number, message: string): void {
    this.add([], offset, message);
  }

  /**
   * A problem with the value at `segments`. When `offsetInValue` is given and the value is a
   * scalar written without escapes, the column points inside it (at a template's bad character).
   */
  at(segments: readonly Segment[], message: string, offsetInValue?: number, onKey = false): void {
    const { offset, node } = this.locate(segments, onKey);
    let at = offset;
    if (offsetInValue !== undefined && isScalar(node) && node.range && typeof node.value === 'string') {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      const start = node.range[0] + (quoted ? 1 : 0);
      if (this.text.startsWith(node.value, start)) at = start + offsetInValue;
    }
    this.add(segments, at, message);
  }

  schemaError(e: ErrorObject, value: unknown): void {
    // anyOf explains itself through its own x-expect; its branches' errors would only repeat it.
    if (e.schemaPath.includes('/anyOf/')) return;
    const segments = instanceSegments(e.instancePath, value);
    const expect = (e.parentSchema as { 'x-expect'?: string } | undefined)?.['x-expect'];
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        return this.at([...segments, params['missingProperty'] as string], 'is required');
      case 'additionalProperties': {
        const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        return this.at(
          [...segments, params['additionalProperty'] as string],
          `is not a known property${known.length > 0 ? `; expected one of: ${known.join(', ')}` : ''}`,
          undefined,
          true,
        );
      }
      case 'enum':
        return this.at(segments, `must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}`);
      case 'const':
        return this.at(segments, `must be ${JSON.stringify(params['allowedValue'])}`);
      case 'uniqueItems': {
        const later = Math.max(params['i'] as number, params['j'] as number);
        const item = (e.data as unknown[])[later];
        return this.at([...segments, later], `repeats ${JSON.stringify(item)}`);
      }
      case 'minItems':
        return this.at(segments, params['limit'] === 1 ? 'must not be empty' : (e.message ?? 'has too few items'));
      case 'type':
        if (expect !== undefined) return this.at(segments, `must be ${expect}`);
        return this.at(
          segments,
          `must be ${[params['type']]
            .flat()
            .map((t) => TYPE_WORDS[t as string] ?? t)
            .join(' or ')}`,
        );
      default:
        return this.at(segments, expect !== undefined ? `must be ${expect}` : (e.message ?? `fails ${e.keyword}`));
    }
  }

  private add(segments: readonly Segment[], offset: number, message: string): void {
    const path = formatPath(segments);
    const key = `${path}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const { line, col } = this.lines.linePos(offset);
    this.located.push({ segments, problem: { line, column: col, path, message } });
  }

  /**
   * The offset to blame for `segments`: a scalar or flow value itself, else the key that
   * introduces it (a block mapping's first line is the line after its key, and the key is what
   * the reader looks for). A missing node is blamed on its nearest existing ancestor.
   */
  private locate(segments: readonly Segment[], onKey: boolean): { offset: number; node: unknown } {
    let node: unknown = this.doc.contents;
    let offset = startOf(node) ?? 0;
    for (let k = 0; k < segments.length; k++) {
      if (isAlias(node)) node = node.resolve(this.doc);
      const seg = segments[k]!;
      const last = k === segments.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) return { offset, node: undefined };
        const v = pair.value;
        const showValue = last && !onKey && (isScalar(v) || (isCollection(v) && v.flow === true));
        offset = (showValue ? startOf(v) : startOf(pair.key)) ?? offset;
        node = v;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (item === undefined) return { offset, node: undefined };
        offset = startOf(item) ?? offset;
        node = item;
      } else {
        return { offset, node: undefined };
      }
    }
    return { offset, node };
  }
}

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

/** Splits a JSON Pointer, turning array indices into numbers by looking at the value itself. */
function instanceSegments(pointer: string, value: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let v = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(v)) {
      out.push(Number(key));
      v = v[Number(key)];
    } else {
      out.push(key);
      v = isObject(v) ? v[key] : undefined;
    }
  }
  return out;
}

/** `rules[0].match.token.claims["kubernetes.io.namespace"]` */
function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
