import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  compileTemplate,
  defaultPolicyYaml,
  evaluate,
  formatDuration,
  parseDuration,
  parsePolicy,
  renderTemplate,
  spiffeIdProblem,
  type Decision,
  type Policy,
  type PolicyInput,
  type PolicyProblem,
  type Requester,
  type Template,
  type TemplateVariables,
} from '../../src/policy/index.js';
import { compileGlob, globMatches } from '../../src/policy/glob.js';
import { parseCidr, parseIp, rangeContains } from '../../src/policy/ip.js';
import { DNS_LABEL } from '../../src/policy/dns.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const K8S_ID = `spiffe://{trustDomain}/ns/{claims["kubernetes.io"].namespace}/sa/{claims["kubernetes.io"].serviceaccount.name}`;

function load(text: string): Policy {
  const r = parsePolicy(text);
  if (!r.ok) assert.fail(`expected the policy to load, got:\n${r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n')}`);
  return r.policy;
}

function problems(text: string): PolicyProblem[] {
  const r = parsePolicy(text);
  if (r.ok) assert.fail('expected the policy to be refused');
  assert.ok(r.problems.length > 0);
  return r.problems;
}

/** 1-based line of the first line containing `needle` (after `after`, if given). */
function lineOf(text: string, needle: string, after = 0): number {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  throw new Error(`${needle} not in text`);
}

function findProblem(list: readonly PolicyProblem[], path: string): PolicyProblem {
  const p = list.find((x) => x.path === path);
  if (p === undefined) assert.fail(`no problem at ${path}; got:\n${list.map((x) => `${x.line} ${x.path}: ${x.message}`).join('\n')}`);
  return p;
}

function doc(rules: string, guardrails = '  trustDomain: example.org\n'): string {
  return `version: 1\nguardrails:\n${guardrails}rules:\n${rules}`;
}

const K8S_RULE = `  - name: k8s
    match:
      token:
        issuer: https://kubernetes.default.svc
        claims:
          kubernetes.io.namespace: "*"
    grant:
      spiffeId: '${K8S_ID}'
`;

function k8sToken(namespace: unknown, sa: unknown = 'web', extra: Record<string, unknown> = {}): Requester {
  return {
    kind: 'token',
    issuer: 'https://kubernetes.default.svc',
    subject: `system:serviceaccount:${String(namespace)}:${String(sa)}`,
    claims: { iss: 'https://kubernetes.default.svc', 'kubernetes.io': { namespace, serviceaccount: { name: sa } }, ...extra },
  };
}

function input(requester: Requester, over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    path: 'api',
    requester,
    keyAlgorithm: 'ecdsa-p256',
    spiffeId: null,
    dnsNames: [],
    ipAddresses: [],
    lifetimeSeconds: null,
    ...over,
  };
}

function allowed(d: Decision): Extract<Decision, { allowed: true }> {
  if (!d.allowed) assert.fail(`expected allow, got deny by ${d.rule} (${d.code}): ${d.reason}`);
  return d;
}

function denied(d: Decision, rule: string, code: string): Extract<Decision, { allowed: false }> {
  if (d.allowed) assert.fail(`expected deny, got allow by ${d.rule} for ${d.spiffeId}`);
  assert.equal(d.code, code, d.reason);
  assert.equal(d.rule, rule, d.reason);
  assert.ok(d.reason.length > 0);
  return d;
}

const svid = (spiffeId: string): Requester => ({ kind: 'svid', spiffeId, serial: '01' });
const acme = (binding: string | null): Requester => ({ kind: 'acme-account', accountId: 'acct-1', binding });
const est = (name: string, label: string | null): Requester => ({ kind: 'est-client', name, label, certificate: null });

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

describe('durations', () => {
  test('accepts whole seconds and unit strings', () => {
    const cases: [unknown, number][] = [
      [0, 0],
      [3600, 3600],
      ['90s', 90],
      ['30m', 1800],
      ['1h', 3600],
      ['1h30m', 5400],
      ['7d', 604800],
      ['1d2h3m4s', 93784],
      ['0s', 0],
    ];
    for (const [v, s] of cases) assert.deepEqual(parseDuration(v), { ok: true, seconds: s }, String(v));
  });

  test('refuses everything else', () => {
    for (const v of ['', 'h', '30m1h', '1h1h', '1.5h', '-1s', '1w', ' 1h', '1h ', '1H', '3600', 1.5, -1, null, true, [], {}]) {
      const r = parseDuration(v);
      assert.equal(r.ok, false, JSON.stringify(v));
    }
  });

  test('formats durations readably and reversibly', () => {
    assert.equal(formatDuration(86400), '24h');
    assert.equal(formatDuration(172800), '2d');
    assert.equal(formatDuration(5400), '1h30m');
    assert.equal(formatDuration(90), '1m30s');
    assert.equal(formatDuration(0), '0s');
    for (const n of [1, 59, 61, 3599, 3601, 86399, 90061, 604800]) {
      assert.deepEqual(parseDuration(formatDuration(n)), { ok: true, seconds: n }, String(n));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Globs, IPs
// ---------------------------------------------------------------------------------------------

describe('globs', () => {
  const m = (g: string, s: string) => globMatches(compileGlob(g), s);

  test('without stars a glob is an exact string', () => {
    assert.ok(m('web', 'web'));
    assert.ok(!m('web', 'web1'));
    assert.ok(!m('web', 'Web'));
    // Nothing but "*" is special: no regex or shell syntax leaks through.
    assert.ok(!m('a.b', 'axb'));
    assert.ok(!m('a?', 'ab'));
    assert.ok(m('[a]', '[a]'));
  });

  test('a star matches any run, including none and including "/"', () => {
    assert.ok(m('*', ''));
    assert.ok(m('*', 'anything/at/all'));
    assert.ok(m('web-*', 'web-'));
    assert.ok(m('web-*', 'web-1'));
    assert.ok(!m('web-*', 'api-1'));
    assert.ok(m('spiffe://example.org/ns/*', 'spiffe://example.org/ns/a/sa/b'));
    assert.ok(!m('spiffe://example.org/ns/*', 'spiffe://example.org.evil/ns/a'));
    assert.ok(m('*-gw', 'edge-gw'));
    assert.ok(m('a*b*c', 'abc'));
    assert.ok(m('a*b*c', 'aXXbYYbZc'));
    assert.ok(!m('a*b*c', 'acb'));
    assert.ok(!m('a*a', 'a'), 'prefix and suffix may not overlap');
    assert.ok(m('**', 'x'));
  });
});

describe('IP addresses and ranges', () => {
  const range = (s: string) => {
    const r = parseCidr(s);
    if (!r.ok) assert.fail(r.reason);
    return r.range;
  };
  const inside = (cidr: string, ip: string) => rangeContains(range(cidr), parseIp(ip)!);

  test('parses v4 and v6, including compressed and embedded-v4 forms', () => {
    assert.deepEqual(parseIp('10.1.2.3'), [10, 1, 2, 3]);
    assert.deepEqual(parseIp('::1'), [...new Array(15).fill(0), 1]);
    assert.deepEqual(parseIp('fd00::'), [0xfd, ...new Array(15).fill(0)]);
    assert.deepEqual(parseIp('::ffff:10.0.0.1'), [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]);
    assert.deepEqual(parseIp('2001:db8:0:0:1:0:0:1'), parseIp('2001:db8::1:0:0:1'));
    for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', 'fe80::1%eth0', 'example.org', '1::2::3']) {
      assert.equal(parseIp(bad), null, bad);
    }
  });

  test('containment', () => {
    assert.ok(inside('10.0.0.0/8', '10.255.0.1'));
    assert.ok(!inside('10.0.0.0/8', '11.0.0.1'));
    assert.ok(inside('192.168.4.0/22', '192.168.7.255'));
    assert.ok(!inside('192.168.4.0/22', '192.168.8.0'));
    assert.ok(inside('fd00::/8', 'fd12:3456::1'));
    assert.ok(!inside('fd00::/8', 'fe80::1'));
    assert.ok(inside('10.0.0.5', '10.0.0.5'), 'a bare address is a single-address range');
    assert.ok(!inside('10.0.0.5', '10.0.0.6'));
    assert.ok(inside('0.0.0.0/0', '1.2.3.4'));
  });

  test('families never mix', () => {
    assert.ok(!inside('::/0', '10.0.0.1'), '::/0 does not allow IPv4');
    assert.ok(!inside('10.0.0.0/8', '::ffff:10.0.0.1'), 'an IPv4-mapped address is IPv6');
  });

  test('refuses bad ranges, including host bits', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/08', 'x/8', 'fd00::1/8']) {
      assert.equal(parseCidr(bad).ok, false, bad);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

describe('templates', () => {
  const compile = (s: string): Template => {
    const c = compileTemplate(s);
    if (!c.ok) assert.fail(`${s}: ${c.reason}`);
    return c.template;
  };
  const vars = (requester: Requester, extra: Partial<TemplateVariables> = {}): TemplateVariables => ({
    trustDomain: 'example.org',
    requester,
    claims: requester.kind === 'token' ? requester.claims : undefined,
    ...extra,
  });

  test('renders the Kubernetes template', () => {
    const r = renderTemplate(compile(K8S_ID), vars(k8sToken('prod', 'web-frontend')));
    assert.deepEqual(r, { ok: true, value: 'spiffe://example.org/ns/prod/sa/web-frontend' });
  });

  test('accessors: dotted, double- and single-quoted, spaces inside braces', () => {
    const t = compile(`a/{claims['kubernetes.io']["serviceaccount"].name}/{ trustDomain }/{requester.subject}`);
    const r = renderTemplate(t, vars(k8sToken('prod', 'web')));
    assert.equal(r.ok, false, 'subject contains ":" and is refused');
    const t2 = compile(`a/{claims['kubernetes.io']["serviceaccount"].name}/{ trustDomain }`);
    assert.deepEqual(renderTemplate(t2, vars(k8sToken('prod', 'web'))), { ok: true, value: 'a/web/example.org' });
  });

  test('a template without placeholders is a constant', () => {
    const t = compile('spiffe://example.org/fixed');
    assert.equal(t.kind === 'parts' && t.constant, 'spiffe://example.org/fixed');
  });

  test('syntax errors are reported with their offset, never thrown', () => {
    const cases: [string, number, RegExp][] = [
      ['spiffe://x/{claims.a', 11, /never closed/],
      ['spiffe://x/}', 11, /without a matching/],
      ['a/{nope}', 3, /unknown variable "nope"/],
      ['a/{}', 3, /variable name/],
      ['a/{claims.}', 10, /name after "."/],
      ['a/{claims[x]}', 10, /quoted name/],
      ['a/{claims[""]}', 10, /empty quoted name/],
      ['a/{claims["x}', 10, /unterminated/],
      ['a/{claims["x"}', 13, /"\]"/],
      ['a/{claims.a b}', 12, /found "b"/],
      ['a/{claims.{x}}', 10, /name after/],
      ['a/{trustDomain.x}', 3, /no fields/],
      ['a/{requester}', 3, /exactly one field/],
      ['a/{requester.nope}', 3, /exactly one field/],
      ['a/{requester.spiffeId.x}', 3, /exactly one field/],
      ['a/{claims}', 3, /needs a claim name/],
    ];
    for (const [src, offset, reason] of cases) {
      const c = compileTemplate(src);
      if (c.ok) assert.fail(`${src} compiled`);
      assert.match(c.reason, reason, src);
      assert.equal(c.offset, offset, `${src}: ${c.reason}`);
    }
  });

  test('injection: substituted values must be one valid path segment', () => {
    const t = compile(K8S_ID);
    const attempts: unknown[] = ['../admin', '..', '.', '', 'a/b', 'prod/sa/admin', 'a%2fb', 'a?b', 'a#b', 'a b', 'prød', 'a\nb', 'a\\b'];
    for (const ns of attempts) {
      const r = renderTemplate(t, vars(k8sToken(ns)));
      assert.equal(r.ok, false, `namespace ${JSON.stringify(ns)} must be refused`);
      if (!r.ok) assert.match(r.reason, /claims\["kubernetes\.io"\]\.namespace/);
    }
    // Non-strings and missing values.
    for (const ns of [42, true, ['a'], { a: 1 }, null, undefined]) {
      assert.equal(renderTemplate(t, vars(k8sToken(ns))).ok, false, JSON.stringify(ns));
    }
    // Dots are fine inside a segment.
    assert.equal(renderTemplate(t, vars(k8sToken('a.b', '...'))).ok, true);
  });

  test('injection: the prototype chain is not reachable', () => {
    const t = compile('x/{claims.constructor}/{claims.__proto__}');
    const r = renderTemplate(t, vars(k8sToken('prod')));
    assert.equal(r.ok, false);
    const t2 = compile('x/{claims.toString}');
    assert.equal(renderTemplate(t2, vars(k8sToken('prod'))).ok, false);
  });

  test('{requester.spiffeId} as the whole template yields the full ID; embedded, it is one segment', () => {
    const whole = compile('{requester.spiffeId}');
    assert.equal(whole.kind, 'requester-id');
    assert.deepEqual(renderTemplate(whole, vars(svid('spiffe://example.org/ns/a/sa/b'))), {
      ok: true,
      value: 'spiffe://example.org/ns/a/sa/b',
    });
    assert.equal(renderTemplate(whole, vars(k8sToken('a'))).ok, false, 'a token requester has no SPIFFE ID');
    const embedded = compile('spiffe://example.org/x/{requester.spiffeId}');
    assert.equal(embedded.kind, 'parts');
    assert.equal(renderTemplate(embedded, vars(svid('spiffe://example.org/a'))).ok, false);
  });

  test('values in DNS patterns must be a single DNS label', () => {
    const t = compile('{claims.host}.example.org');
    const r = (host: string) => renderTemplate(t, { trustDomain: 'example.org', requester: k8sToken('a'), claims: { host } }, DNS_LABEL);
    assert.deepEqual(r('web-1'), { ok: true, value: 'web-1.example.org' });
    for (const bad of ['evil.com', 'a_b', '-a', 'a-', '', 'x'.repeat(64)]) assert.equal(r(bad).ok, false, bad);
  });

  test('spiffeIdProblem checks the rendered whole', () => {
    assert.equal(spiffeIdProblem('spiffe://example.org/a/b', 'example.org'), null);
    for (const bad of [
      'spiffe://example.org',
      'spiffe://example.org/',
      'spiffe://example.org/a//b',
      'spiffe://example.org/a/../b',
      'spiffe://example.org/a/./b',
      'spiffe://example.org/..',
      'spiffe://example.org/a/',
      'spiffe://example.org.evil.com/a',
      'spiffe://example.orga/b',
      'spiffe://other.org/a',
      'SPIFFE://example.org/a',
      'spiffe://example.org/a?b',
      `spiffe://example.org/${'a'.repeat(2048)}`,
    ]) {
      assert.notEqual(spiffeIdProblem(bad, 'example.org'), null, bad);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Loading a document
// ---------------------------------------------------------------------------------------------

describe('parsePolicy', () => {
  test('the default policy parses and does what it says', () => {
    const text = defaultPolicyYaml({ trustDomain: 'example.org', tokenIssuer: 'https://kubernetes.default.svc', audience: 'workload-ca' });
    const policy = load(text);
    assert.deepEqual(
      policy.rules.map((r) => r.name),
      ['kubernetes-service-accounts', 'svid-renewal', 'acme-vms'],
    );
    assert.equal(policy.guardrails.trustDomain, 'example.org');
    assert.deepEqual(policy.guardrails.keyAlgorithms, ['ecdsa-p256']);
    assert.equal(policy.guardrails.maxLifetimeSeconds, 86400);
    const k8s = policy.rules[0]!;
    assert.equal(k8s.grant.defaultLifetimeSeconds, 3600);
    assert.equal(k8s.grant.maxLifetimeSeconds, 86400);

    const token = k8sToken('prod', 'web', { aud: ['workload-ca'] });
    const d = allowed(evaluate(policy, input(token)));
    assert.equal(d.rule, 'kubernetes-service-accounts');
    assert.equal(d.spiffeId, 'spiffe://example.org/ns/prod/sa/web');
    assert.equal(d.lifetimeSeconds, 3600);
    // A token for another audience does not match.
    denied(evaluate(policy, input(k8sToken('prod', 'web', { aud: ['other'] }))), 'default-deny', 'no-matching-rule');
    // A workload renews its own ID only.
    const me = 'spiffe://example.org/ns/prod/sa/web';
    assert.equal(allowed(evaluate(policy, input(svid(me)))).spiffeId, me);
    assert.equal(allowed(evaluate(policy, input(svid(me), { spiffeId: me }))).rule, 'svid-renewal');
    const d2 = denied(
      evaluate(policy, input(svid(me), { spiffeId: 'spiffe://example.org/ns/prod/sa/admin' })),
      'svid-renewal',
      'identity-not-allowed',
    );
    assert.match(d2.reason, /sa\/admin/);
    assert.match(d2.reason, /sa\/web/);
    denied(evaluate(policy, input(svid('spiffe://other.org/x'))), 'default-deny', 'no-matching-rule');
    // An ACME account bound to "web" may hold names under web.vm.<trust domain>, as
    // spiffe://<trust domain>/vm/web/<first name>, and nothing under another binding's suffix.
    const acme = { kind: 'acme-account', accountId: 'a1', binding: 'web' } as const;
    const vm = allowed(evaluate(policy, { ...input(acme), path: 'acme', dnsNames: ['h1.web.vm.example.org'] }));
    assert.equal(vm.rule, 'acme-vms');
    assert.equal(vm.spiffeId, 'spiffe://example.org/vm/web/h1.web.vm.example.org');
    denied(evaluate(policy, { ...input(acme), path: 'acme', dnsNames: ['h1.db.vm.example.org'] }), 'acme-vms', 'san-not-allowed');
    denied(
      evaluate(policy, { ...input({ kind: 'acme-account', accountId: 'a2', binding: null }), path: 'acme', dnsNames: ['h1.web.vm.example.org'] }),
      'default-deny',
      'no-matching-rule',
    );
  });

  test('the default policy quotes odd option values safely', () => {
    const text = defaultPolicyYaml({ trustDomain: 'example.org', tokenIssuer: 'https://x/"#: y', audience: "it's: #1" });
    const policy = load(text);
    const m = policy.rules[0]!.requester;
    assert.equal(m.kind === 'token' && m.issuer, 'https://x/"#: y');
  });

  test('the hash is sha256 of the exact text: stable, and changed by any edit', () => {
    const text = doc(K8S_RULE);
    const a = load(text);
    const b = load(text);
    assert.equal(a.hash, b.hash);
    assert.equal(a.hash, `sha256:${createHash('sha256').update(text).digest('hex')}`);
    assert.match(a.hash, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(load(`${text}# a comment\n`).hash, a.hash);
  });

  test('the compiled policy is immutable', () => {
    const p = load(doc(K8S_RULE));
    assert.ok(Object.isFrozen(p));
    assert.ok(Object.isFrozen(p.rules));
    assert.ok(Object.isFrozen(p.guardrails));
    assert.ok(Object.isFrozen(p.guardrails.keyAlgorithms));
    assert.ok(Object.isFrozen(p.rules[0]!.grant));
    assert.ok(Object.isFrozen(p.rules[0]!.paths));
    assert.throws(() => (p.rules as unknown as unknown[]).push({}));
    assert.throws(() => ((p.guardrails as { maxLifetimeSeconds: number }).maxLifetimeSeconds = 1e9));
  });

  test('defaults: key algorithms, lifetimes, paths', () => {
    const p = load(
      doc(
        `  - name: short
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}", maxLifetime: 30m }
  - name: plain
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
`,
        '  trustDomain: example.org\n  keyAlgorithms: [ecdsa-p256, ecdsa-p384]\n  maxLifetime: 12h\n',
      ),
    );
    const [short, plain] = p.rules;
    assert.deepEqual(short!.grant.keyAlgorithms, ['ecdsa-p256', 'ecdsa-p384']);
    assert.equal(short!.grant.maxLifetimeSeconds, 1800);
    assert.equal(short!.grant.defaultLifetimeSeconds, 1800, 'default is min(1h, maxLifetime)');
    assert.equal(plain!.grant.maxLifetimeSeconds, 12 * 3600, 'max defaults to the guardrail');
    assert.equal(plain!.grant.defaultLifetimeSeconds, 3600);
    assert.deepEqual(plain!.paths, ['api', 'acme', 'est']);

    const bare = load(doc(K8S_RULE));
    assert.deepEqual(bare.guardrails.keyAlgorithms, ['ecdsa-p256']);
    assert.equal(bare.guardrails.maxLifetimeSeconds, 86400);
  });

  test('durations may be whole seconds', () => {
    const p = load(
      doc(`  - name: a
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}", maxLifetime: 600, defaultLifetime: 300 }
`),
    );
    assert.equal(p.rules[0]!.grant.maxLifetimeSeconds, 600);
    assert.equal(p.rules[0]!.grant.defaultLifetimeSeconds, 300);
  });

  test('YAML anchors and aliases are resolved', () => {
    const p = load(`version: 1
guardrails: { trustDomain: example.org }
rules:
  - name: a
    match: { acme: { binding: "web-*" } }
    grant: &g
      spiffeId: 'spiffe://{trustDomain}/acme/{binding}'
      maxLifetime: 2h
  - name: b
    match: { acme: { binding: "api-*" } }
    grant: *g
`);
    assert.equal(p.rules[1]!.grant.maxLifetimeSeconds, 7200);
  });

  describe('widening is refused at load, at the right line', () => {
    test('a key algorithm outside the guardrails', () => {
      const text = doc(`  - name: a
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "{requester.spiffeId}"
      keyAlgorithms:
        - ecdsa-p256
        - rsa-2048
`);
      const [p, ...rest] = problems(text);
      assert.equal(rest.length, 0);
      assert.equal(p!.path, 'rules[0].grant.keyAlgorithms[1]');
      assert.equal(p!.line, lineOf(text, 'rsa-2048'));
      assert.equal(p!.column, 11);
      assert.match(p!.message, /rsa-2048.*guardrails\.keyAlgorithms.*never widen/);
    });

    test('a maxLifetime beyond the guardrail', () => {
      const text = doc(
        `  - name: a
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "{requester.spiffeId}"
      maxLifetime: 25h
`,
        '  trustDomain: example.org\n  maxLifetime: 24h\n',
      );
      const [p, ...rest] = problems(text);
      assert.equal(rest.length, 0);
      assert.equal(p!.path, 'rules[0].grant.maxLifetime');
      assert.equal(p!.line, lineOf(text, '25h'));
      assert.equal(p!.column, 20);
      assert.match(p!.message, /25h is longer than guardrails\.maxLifetime \(24h\)/);
    });

    test('a defaultLifetime beyond the rule maximum or the guardrail', () => {
      const text = doc(`  - name: a
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "{requester.spiffeId}"
      maxLifetime: 1h
      defaultLifetime: 2h
  - name: b
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "{requester.spiffeId}"
      defaultLifetime: 2d
`);
      const list = problems(text);
      assert.equal(list.length, 2);
      assert.equal(findProblem(list, 'rules[0].grant.defaultLifetime').line, lineOf(text, 'defaultLifetime: 2h'));
      assert.match(findProblem(list, 'rules[0].grant.defaultLifetime').message, /rule's maxLifetime \(1h\)/);
      assert.equal(findProblem(list, 'rules[1].grant.defaultLifetime').line, lineOf(text, 'defaultLifetime: 2d'));
      assert.match(findProblem(list, 'rules[1].grant.defaultLifetime').message, /guardrails\.maxLifetime \(24h\)/);
    });

    test('an identity outside the trust domain', () => {
      const text = doc(`  - name: other-domain
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "spiffe://other.org/x"
  - name: suffix-trick
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "spiffe://{trustDomain}.evil.com/x"
  - name: no-path
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "spiffe://{trustDomain}"
  - name: placeholder-domain
    match: { acme: {} }
    grant:
      spiffeId: "spiffe://{binding}/x"
  - name: malformed
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "spiffe://example.org/a//{requester.serial}"
`);
      const list = problems(text);
      assert.equal(list.length, 5);
      for (const [i, marker] of [
        [0, 'other.org'],
        [1, 'evil.com'],
        [2, '"spiffe://{trustDomain}"'],
        [3, '{binding}/x'],
        [4, 'a//'],
      ] as const) {
        const p = findProblem(list, `rules[${i}].grant.spiffeId`);
        assert.equal(p.line, lineOf(text, marker), marker);
      }
      assert.match(findProblem(list, 'rules[0].grant.spiffeId').message, /outside the trust domain/);
      assert.match(findProblem(list, 'rules[4].grant.spiffeId').message, /empty path segment/);
    });

    test('the literal trust domain is accepted in place of {trustDomain}', () => {
      load(
        doc(`  - name: a
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "spiffe://example.org/fixed/{requester.serial}" }
`),
      );
    });
  });

  test('every problem is listed, in line order, with the lines to edit', () => {
    const text = `version: 2
guardrails:
  trustDomain: Example.org
  keyAlgorithms: [ecdsa-p256, dsa]
  maxLifetime: 1y
  colour: blue
rules:
  - name: Bad_Name
    match:
      paths: [api, smtp]
      token: { issuer: "" }
    grant:
      spiffeId: 'spiffe://{trustDomain}/x'
      dnsNames: [a, a]
  - match:
      svid: { spiffeId: "*" }
    grant: {}
    extra: true
`;
    const list = problems(text);
    const expect: [string, string, RegExp][] = [
      ['version', 'version: 2', /must be 1/],
      ['guardrails.trustDomain', 'Example.org', /trust domain/],
      ['guardrails.keyAlgorithms[1]', 'dsa', /one of: ecdsa-p256/],
      ['guardrails.maxLifetime', '1y', /duration/],
      ['guardrails.colour', 'colour', /not a known property/],
      ['rules[0].name', 'Bad_Name', /rule name/],
      ['rules[0].match.paths[1]', 'smtp', /one of: api, acme, est/],
      ['rules[0].match.token.issuer', 'issuer: ""', /non-empty/],
      ['rules[0].grant.dnsNames[1]', 'dnsNames: [a, a]', /repeats "a"/],
      ['rules[1].name', '- match:', /required/],
      ['rules[1].grant.spiffeId', 'grant: {}', /required/],
      ['rules[1].extra', 'extra: true', /not a known property/],
    ];
    for (const [path, marker, message] of expect) {
      const p = findProblem(list, path);
      assert.equal(p.line, lineOf(text, marker), `${path}: line`);
      assert.match(p.message, message, path);
    }
    assert.equal(list.length, expect.length, list.map((p) => `${p.path}: ${p.message}`).join('\n'));
    const lines = list.map((p) => p.line);
    assert.deepEqual(
      lines,
      [...lines].sort((a, b) => a - b),
    );
    for (const p of list) assert.ok(p.column >= 1);
  });

  test('semantic problems in one rule are reported even when another rule is malformed', () => {
    const text = doc(`  - name: broken
    match: { svid: { spiffeId: 7 } }
    grant: { spiffeId: "{requester.spiffeId}" }
  - name: widening
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}", keyAlgorithms: [rsa-4096] }
  - name: widening
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{binding}" }
`);
    const list = problems(text);
    assert.equal(findProblem(list, 'rules[0].match.svid.spiffeId').line, lineOf(text, 'spiffeId: 7'));
    assert.equal(findProblem(list, 'rules[1].grant.keyAlgorithms[0]').line, lineOf(text, 'rsa-4096'));
    const dup = list.find((p) => p.path === 'rules[2].name' && /already the name of rules\[1\]/.test(p.message));
    assert.ok(dup, 'duplicate name reported');
    assert.equal(dup.line, lineOf(text, 'name: widening', lineOf(text, 'rsa-4096')));
    assert.match(findProblem(list, 'rules[2].grant.spiffeId').message, /only ACME requesters have a binding/);
  });

  test('YAML syntax errors are problems with lines', () => {
    const text = 'version: 1\nguardrails:\n  trustDomain: example.org\n  trustDomain: again.org\nrules: []\n';
    const [p] = problems(text);
    assert.equal(p!.line, 4);
    assert.match(p!.message, /unique/i);

    const text2 = 'version: 1\nguardrails: { trustDomain: example.org\nrules: []\n';
    assert.ok(problems(text2).every((x) => x.line >= 2));

    const multi = problems('version: 1\n---\nversion: 1\n');
    assert.ok(multi.some((x) => /multiple documents/i.test(x.message)));
    assert.equal(multi[0]!.line, 2);

    const tabs = problems('version: 1\nguardrails:\n\ttrustDomain: example.org\nrules: []\n');
    assert.ok(tabs.length >= 1);
  });

  test('an alias bomb is a problem, not a hang or a crash', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${new Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const list = problems(lines.join('\n'));
    assert.ok(list.length >= 1);
  });

  test('an empty or non-mapping document', () => {
    for (const text of ['', '# only a comment\n', '[1, 2]\n', 'just text\n']) {
      const [p, ...rest] = problems(text);
      assert.equal(rest.length, 0, text);
      assert.equal(p!.path, '');
      assert.match(p!.message, /mapping/);
      assert.equal(p!.line, 1);
    }
  });

  test('missing sections are reported on the parent line', () => {
    const text = 'version: 1\nguardrails:\n  keyAlgorithms: [ecdsa-p256]\n';
    const list = problems(text);
    assert.equal(findProblem(list, 'rules').line, 1);
    assert.equal(findProblem(list, 'guardrails.trustDomain').line, 2);
    assert.equal(list.length, 2);
  });

  test('a rule needs exactly one requester matcher', () => {
    const text = doc(`  - name: none
    match:
      paths: [api]
    grant: { spiffeId: "spiffe://example.org/x" }
  - name: two
    match:
      svid: { spiffeId: "*" }
      acme: {}
    grant: { spiffeId: "spiffe://example.org/x" }
`);
    const list = problems(text);
    assert.equal(list.length, 2);
    assert.equal(findProblem(list, 'rules[0].match').line, lineOf(text, 'match:'));
    assert.match(findProblem(list, 'rules[0].match').message, /exactly one/);
    assert.equal(findProblem(list, 'rules[1].match').line, lineOf(text, 'match:', lineOf(text, 'name: two')));
    assert.match(findProblem(list, 'rules[1].match').message, /svid and acme/);
  });

  test('templates: syntax errors point into the value; placeholders must suit the requester', () => {
    const text = doc(`  - name: syntax
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "spiffe://{trustDomain}/x/{requester.serial"
  - name: wrong-requester
    match:
      token: { issuer: x }
    grant:
      spiffeId: "spiffe://{trustDomain}/{requester.spiffeId}/{binding}"
  - name: whole-id-for-token
    match:
      token: { issuer: x }
    grant:
      spiffeId: "{requester.spiffeId}"
  - name: claims-for-acme
    match: { acme: {} }
    grant:
      spiffeId: 'spiffe://{trustDomain}/{claims.sub}'
`);
    const list = problems(text);
    const syntax = findProblem(list, 'rules[0].grant.spiffeId');
    const line = text.split('\n')[syntax.line - 1]!;
    assert.equal(syntax.line, lineOf(text, 'requester.serial"'));
    assert.equal(line[syntax.column - 1], '{', 'column points at the unclosed brace');
    assert.match(syntax.message, /never closed/);
    const wrong = list.filter((p) => p.path === 'rules[1].grant.spiffeId');
    assert.equal(wrong.length, 2);
    assert.match(findProblem(list, 'rules[2].grant.spiffeId').message, /token requesters have requester\.issuer and requester\.subject/);
    assert.match(findProblem(list, 'rules[3].grant.spiffeId').message, /only token requesters have claims/);
  });

  test('DNS patterns, IP ranges and claim paths are checked at load', () => {
    const text = doc(`  - name: a
    match:
      token:
        issuer: x
        claims:
          "a..b": "*"
    grant:
      spiffeId: "spiffe://example.org/x"
      dnsNames:
        - "*.svc.cluster.local"
        - "web.*.example.org"
        - "*"
        - "{claims.host}.example.org"
        - "{requester.spiffeId}"
        - "bad_name.example.org"
      ipAddresses:
        - 10.0.0.0/8
        - 10.0.0.1/8
        - not-an-ip
        - "fd00::/8"
`);
    const list = problems(text);
    assert.equal(findProblem(list, 'rules[0].match.token.claims["a..b"]').line, lineOf(text, 'a..b'));
    assert.equal(findProblem(list, 'rules[0].grant.dnsNames[1]').line, lineOf(text, 'web.*'));
    assert.equal(findProblem(list, 'rules[0].grant.dnsNames[2]').line, lineOf(text, '- "*"'));
    assert.equal(findProblem(list, 'rules[0].grant.dnsNames[4]').line, lineOf(text, '"{requester.spiffeId}"'));
    assert.equal(findProblem(list, 'rules[0].grant.dnsNames[5]').line, lineOf(text, 'bad_name'));
    assert.match(findProblem(list, 'rules[0].grant.ipAddresses[1]').message, /host bits.*10\.0\.0\.0\/8/);
    assert.equal(findProblem(list, 'rules[0].grant.ipAddresses[2]').line, lineOf(text, 'not-an-ip'));
    assert.equal(list.length, 7, list.map((p) => `${p.path}: ${p.message}`).join('\n'));
  });

  test('reserved and duplicate rule names', () => {
    const text = doc(`  - name: default-deny
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
  - name: guardrails
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
`);
    const list = problems(text);
    assert.equal(list.length, 2);
    for (const p of list) assert.match(p.message, /reserved/);
  });

  test('zero durations are refused', () => {
    const text = doc(
      `  - name: a
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}", maxLifetime: 0s }
`,
      '  trustDomain: example.org\n  maxLifetime: 0m\n',
    );
    const list = problems(text);
    assert.equal(findProblem(list, 'guardrails.maxLifetime').line, lineOf(text, 'maxLifetime: 0m'));
    assert.match(findProblem(list, 'guardrails.maxLifetime').message, /longer than zero/);
    assert.equal(findProblem(list, 'rules[0].grant.maxLifetime').line, lineOf(text, '0s'));
    assert.equal(list.length, 2);
    // Whole seconds: the schema itself asks for a positive number.
    const [p] = problems(doc(K8S_RULE, '  trustDomain: example.org\n  maxLifetime: 0\n'));
    assert.equal(p!.path, 'guardrails.maxLifetime');
  });

  test('an empty rule list loads and denies everything', () => {
    const p = load('version: 1\nguardrails: { trustDomain: example.org }\nrules: []\n');
    assert.equal(p.rules.length, 0);
    denied(evaluate(p, input(svid('spiffe://example.org/a'))), 'default-deny', 'no-matching-rule');
  });
});

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

describe('evaluate', () => {
  const k8s = load(doc(K8S_RULE));

  test('a matching token gets its templated identity and the default lifetime', () => {
    const d = allowed(evaluate(k8s, input(k8sToken('prod', 'web'))));
    assert.deepEqual(d, {
      allowed: true,
      rule: 'k8s',
      spiffeId: 'spiffe://example.org/ns/prod/sa/web',
      dnsNames: [],
      ipAddresses: [],
      lifetimeSeconds: 3600,
      crlDistributionPoint: false,
    });
  });

  test('default deny when no rule matches', () => {
    const wrongIssuer: Requester = { ...k8sToken('prod'), issuer: 'https://evil' } as Requester;
    denied(evaluate(k8s, input(wrongIssuer)), 'default-deny', 'no-matching-rule');
    const noClaim: Requester = { kind: 'token', issuer: 'https://kubernetes.default.svc', subject: 's', claims: {} };
    denied(evaluate(k8s, input(noClaim)), 'default-deny', 'no-matching-rule');
    denied(evaluate(k8s, input(svid('spiffe://example.org/a'))), 'default-deny', 'no-matching-rule');
    denied(evaluate(k8s, input(acme('b'))), 'default-deny', 'no-matching-rule');
    // "*" means present with a string value.
    denied(evaluate(k8s, input(k8sToken(7))), 'default-deny', 'no-matching-rule');
  });

  test('claim injection is refused by the rule that matched', () => {
    for (const [ns, sa] of [
      ['../admin', 'web'],
      ['prod', '../../ns/kube-system/sa/admin'],
      ['prod/sa/admin', 'x'],
      ['..', 'x'],
      ['prod', ''],
    ]) {
      const d = denied(evaluate(k8s, input(k8sToken(ns, sa))), 'k8s', 'identity-not-allowed');
      assert.match(d.reason, /not a valid SPIFFE path segment|has no value/);
    }
    denied(evaluate(k8s, input(k8sToken('prod', 42))), 'k8s', 'identity-not-allowed');
    const noName: Requester = {
      kind: 'token',
      issuer: 'https://kubernetes.default.svc',
      subject: 's',
      claims: { 'kubernetes.io': { namespace: 'prod', serviceaccount: {} } },
    };
    const d = denied(evaluate(k8s, input(noName)), 'k8s', 'identity-not-allowed');
    assert.match(d.reason, /serviceaccount\.name\} has no value/);
  });

  test('values next to literal text cannot form "." or ".." segments', () => {
    const p = load(
      doc(`  - name: dots
    match: { token: { issuer: x } }
    grant: { spiffeId: 'spiffe://{trustDomain}/a/{claims.p}{claims.q}/.{claims.r}' }
`),
    );
    const tok = (claims: Record<string, string>): Requester => ({ kind: 'token', issuer: 'x', subject: 's', claims });
    denied(evaluate(p, input(tok({ p: '.', q: '.', r: 'x' }))), 'dots', 'identity-not-allowed');
    denied(evaluate(p, input(tok({ p: 'a', q: 'b', r: '.' }))), 'dots', 'identity-not-allowed');
    assert.equal(allowed(evaluate(p, input(tok({ p: 'a', q: '.b', r: '.' + 'c' })))).spiffeId, 'spiffe://example.org/a/a.b/..c');
  });

  test('dotted claim paths walk dotted keys and nested objects; lists of globs; array claims', () => {
    const p = load(
      doc(`  - name: a
    match:
      token:
        issuer: x
        claims:
          kubernetes.io.namespace: [prod, "team-*"]
          groups: admins
    grant: { spiffeId: "spiffe://example.org/admin" }
`),
    );
    const tok = (claims: Record<string, unknown>): Requester => ({ kind: 'token', issuer: 'x', subject: 's', claims });
    allowed(evaluate(p, input(tok({ 'kubernetes.io': { namespace: 'prod' }, groups: ['dev', 'admins'] }))));
    allowed(evaluate(p, input(tok({ kubernetes: { io: { namespace: 'team-a' } }, groups: 'admins' }))));
    allowed(evaluate(p, input(tok({ 'kubernetes.io.namespace': 'prod', groups: 'admins' }))));
    // A dotted key that leads nowhere does not hide the nested one.
    allowed(evaluate(p, input(tok({ 'kubernetes.io': {}, kubernetes: { io: { namespace: 'prod' } }, groups: 'admins' }))));
    const no = (claims: Record<string, unknown>) => denied(evaluate(p, input(tok(claims))), 'default-deny', 'no-matching-rule');
    no({ 'kubernetes.io': { namespace: 'staging' }, groups: 'admins' });
    no({ 'kubernetes.io': { namespace: 'prod' }, groups: ['dev'] });
    no({ 'kubernetes.io': { namespace: 'prod' }, groups: [['admins']] });
    no({ 'kubernetes.io': { namespace: 'prod' } });
    no({ 'kubernetes.io': 'prod', groups: 'admins' });
    no({ 'kubernetes.io': { namespace: 42 }, groups: 'admins' });
  });

  test('first match decides, even to deny; later rules are not consulted', () => {
    const p = load(
      doc(`  - name: kube-system-short
    match:
      token:
        issuer: https://kubernetes.default.svc
        claims: { kubernetes.io.namespace: kube-system }
    grant:
      spiffeId: '${K8S_ID}'
      maxLifetime: 5m
${K8S_RULE}`),
    );
    denied(evaluate(p, input(k8sToken('kube-system'), { lifetimeSeconds: 3600 })), 'kube-system-short', 'lifetime-not-allowed');
    const d = allowed(evaluate(p, input(k8sToken('kube-system'))));
    assert.equal(d.rule, 'kube-system-short');
    assert.equal(d.lifetimeSeconds, 300);
    assert.equal(allowed(evaluate(p, input(k8sToken('prod'), { lifetimeSeconds: 3600 }))).rule, 'k8s');
  });

  test('paths are part of matching: a rule for another path is skipped', () => {
    const p = load(
      doc(`  - name: est-only
    match: { paths: [est], svid: { spiffeId: "*" } }
    grant: { spiffeId: "spiffe://example.org/est" }
  - name: any-path
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "spiffe://example.org/any" }
  - name: acme-only
    match: { paths: [acme], acme: {} }
    grant: { spiffeId: "spiffe://example.org/acme" }
`),
    );
    const s = svid('spiffe://example.org/w');
    assert.equal(allowed(evaluate(p, input(s, { path: 'est' }))).rule, 'est-only');
    assert.equal(allowed(evaluate(p, input(s, { path: 'api' }))).rule, 'any-path');
    assert.equal(allowed(evaluate(p, input(acme(null), { path: 'acme' }))).rule, 'acme-only');
    denied(evaluate(p, input(acme(null), { path: 'api' })), 'default-deny', 'no-matching-rule');
  });

  test('key algorithms: guardrails first, then the rule narrows', () => {
    const p = load(
      doc(
        `  - name: p256-only
    match: { svid: { spiffeId: "spiffe://example.org/iot/*" } }
    grant: { spiffeId: "{requester.spiffeId}", keyAlgorithms: [ecdsa-p256] }
  - name: both
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
`,
        '  trustDomain: example.org\n  keyAlgorithms: [ecdsa-p256, ecdsa-p384]\n',
      ),
    );
    const iot = svid('spiffe://example.org/iot/gw1');
    const web = svid('spiffe://example.org/web');
    allowed(evaluate(p, input(iot)));
    const d = denied(evaluate(p, input(iot, { keyAlgorithm: 'ecdsa-p384' })), 'p256-only', 'key-not-allowed');
    assert.match(d.reason, /ecdsa-p384/);
    assert.equal(allowed(evaluate(p, input(web, { keyAlgorithm: 'ecdsa-p384' }))).rule, 'both');
    // Outside the guardrails: refused before any rule is looked at, even with no rule matching.
    denied(evaluate(p, input(web, { keyAlgorithm: 'rsa-2048' })), 'guardrails', 'key-not-allowed');
    denied(evaluate(p, input(acme('x'), { keyAlgorithm: 'rsa-2048' })), 'guardrails', 'key-not-allowed');
  });

  test('a requested SPIFFE ID must be exactly the one granted', () => {
    allowed(evaluate(k8s, input(k8sToken('prod'), { spiffeId: 'spiffe://example.org/ns/prod/sa/web' })));
    const d = denied(evaluate(k8s, input(k8sToken('prod'), { spiffeId: 'spiffe://example.org/ns/prod/sa/admin' })), 'k8s', 'identity-not-allowed');
    assert.match(d.reason, /asked for spiffe:\/\/example\.org\/ns\/prod\/sa\/admin/);
    assert.match(d.reason, /grants spiffe:\/\/example\.org\/ns\/prod\/sa\/web/);
  });

  test('renewal by SVID is re-checked against the trust domain', () => {
    const p = load(
      doc(`  - name: renew-anything
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
`),
    );
    allowed(evaluate(p, input(svid('spiffe://example.org/a/b'))));
    for (const id of ['spiffe://other.org/a', 'spiffe://example.org', 'spiffe://example.org.evil/a', 'spiffe://example.org/a/../b']) {
      denied(evaluate(p, input(svid(id))), 'renew-anything', 'identity-not-allowed');
    }
  });

  describe('DNS names', () => {
    const p = load(
      doc(`  - name: web
    match: { token: { issuer: x } }
    grant:
      spiffeId: "spiffe://example.org/web"
      dnsNames: ["*.svc.cluster.local", "api.example.org", "*.{claims.ns}.apps.example.org"]
  - name: none
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}" }
`),
    );
    const tok = (ns: unknown = 'prod'): Requester => ({ kind: 'token', issuer: 'x', subject: 's', claims: { ns } });
    const dns = (names: string[], ns?: unknown) => evaluate(p, input(tok(ns), { dnsNames: names }));

    test('exact and wildcard patterns, case-insensitively', () => {
      const d = allowed(dns(['api.example.org', 'web.prod.svc.cluster.local', 'a.b.svc.cluster.local', 'API.Example.ORG']));
      assert.deepEqual(d.dnsNames, ['api.example.org', 'web.prod.svc.cluster.local', 'a.b.svc.cluster.local', 'API.Example.ORG']);
    });

    test('a wildcard needs at least one label and respects label boundaries', () => {
      for (const bad of ['svc.cluster.local', 'evilsvc.cluster.local', 'x.svc.cluster.local.evil.com', 'www.example.org', 'example.org']) {
        const d = denied(dns([bad]), 'web', 'san-not-allowed');
        assert.ok(d.reason.includes(bad), d.reason);
      }
    });

    test('one bad name among good ones is named in the denial', () => {
      const d = denied(dns(['api.example.org', 'evil.com']), 'web', 'san-not-allowed');
      assert.match(d.reason, /evil\.com/);
    });

    test('malformed and wildcard requests are refused', () => {
      for (const bad of [
        '*.svc.cluster.local',
        'a..svc.cluster.local',
        '-a.svc.cluster.local',
        'a_b.svc.cluster.local',
        'a.svc.cluster.local.',
        '',
      ]) {
        denied(dns([bad]), 'web', 'san-not-allowed');
      }
    });

    test('templated patterns render per request, one label per value', () => {
      allowed(dns(['web.prod.apps.example.org'], 'prod'));
      denied(dns(['web.prod.apps.example.org'], 'staging'), 'web', 'san-not-allowed');
      // A claim value with dots cannot move the suffix.
      denied(dns(['web.evil.com.apps.example.org'], 'evil.com'), 'web', 'san-not-allowed');
      denied(dns(['web.x.apps.example.org'], undefined), 'web', 'san-not-allowed');
    });

    test('a rule with no dnsNames allows none', () => {
      const d = denied(evaluate(p, input(svid('spiffe://example.org/a'), { dnsNames: ['a.example.org'] })), 'none', 'san-not-allowed');
      assert.match(d.reason, /allows no DNS names/);
    });
  });

  describe('IP addresses', () => {
    const p = load(
      doc(`  - name: net
    match: { svid: { spiffeId: "*" } }
    grant:
      spiffeId: "{requester.spiffeId}"
      ipAddresses: ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]
`),
    );
    const ip = (ips: string[]) => evaluate(p, input(svid('spiffe://example.org/a'), { ipAddresses: ips }));

    test('addresses inside the ranges are allowed and returned', () => {
      assert.deepEqual(allowed(ip(['10.1.2.3', 'fd00::1', '192.0.2.7'])).ipAddresses, ['10.1.2.3', 'fd00::1', '192.0.2.7']);
    });

    test('addresses outside, of the other family, or malformed are refused by name', () => {
      for (const bad of ['11.0.0.1', '192.0.2.8', 'fe80::1', '::ffff:10.0.0.1', 'not-an-ip', '10.0.0.1/32']) {
        const d = denied(ip(['10.0.0.1', bad]), 'net', 'san-not-allowed');
        assert.ok(d.reason.includes(bad), d.reason);
      }
    });
  });

  describe('lifetimes', () => {
    const p = load(
      doc(`  - name: l
    match: { svid: { spiffeId: "*" } }
    grant: { spiffeId: "{requester.spiffeId}", defaultLifetime: 15m, maxLifetime: 2h }
`),
    );
    const life = (s: number | null) => evaluate(p, input(svid('spiffe://example.org/a'), { lifetimeSeconds: s }));

    test('null takes the default; up to the maximum is allowed', () => {
      assert.equal(allowed(life(null)).lifetimeSeconds, 900);
      assert.equal(allowed(life(1)).lifetimeSeconds, 1);
      assert.equal(allowed(life(7200)).lifetimeSeconds, 7200);
    });

    test('over the maximum, zero, negative or fractional is refused', () => {
      const d = denied(life(7201), 'l', 'lifetime-not-allowed');
      assert.match(d.reason, /2h/);
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) denied(life(bad), 'l', 'lifetime-not-allowed');
    });
  });

  test('ACME requesters: binding globs, an unbound account, {binding} in the ID', () => {
    const p = load(
      doc(`  - name: web-bindings
    match: { acme: { binding: "web-*" } }
    grant: { spiffeId: "spiffe://example.org/acme/{binding}" }
  - name: any-account
    match: { acme: {} }
    grant: { spiffeId: "spiffe://example.org/acme/account/{requester.accountId}" }
`),
    );
    assert.equal(allowed(evaluate(p, input(acme('web-1'), { path: 'acme' }))).spiffeId, 'spiffe://example.org/acme/web-1');
    const other = allowed(evaluate(p, input(acme('db-1'), { path: 'acme' })));
    assert.equal(other.rule, 'any-account');
    assert.equal(other.spiffeId, 'spiffe://example.org/acme/account/acct-1');
    assert.equal(allowed(evaluate(p, input(acme(null), { path: 'acme' }))).rule, 'any-account');
  });

  test('EST requesters: name and label globs; a label glob needs a label', () => {
    const p = load(
      doc(`  - name: gateways
    match: { est: { label: devices, name: "gw-*" } }
    grant: { spiffeId: "spiffe://example.org/device/{requester.name}" }
  - name: any-name
    match: { est: { name: "*" } }
    grant: { spiffeId: "spiffe://example.org/est/{requester.label}" }
`),
    );
    assert.equal(allowed(evaluate(p, input(est('gw-7', 'devices'), { path: 'est' }))).spiffeId, 'spiffe://example.org/device/gw-7');
    // No label: the first rule does not match; the second matches and cannot render its ID.
    denied(evaluate(p, input(est('gw-7', null), { path: 'est' })), 'any-name', 'identity-not-allowed');
    assert.equal(allowed(evaluate(p, input(est('x', 'other'), { path: 'est' }))).spiffeId, 'spiffe://example.org/est/other');
    // A certificate subject is not a path segment.
    denied(evaluate(p, input(est('gw-CN=x,O=y', 'devices'), { path: 'est' })), 'gateways', 'identity-not-allowed');
  });

  test('evaluation is pure: same answer twice, input untouched', () => {
    const req = Object.freeze(input(Object.freeze(k8sToken('prod')), { dnsNames: Object.freeze([]) as unknown as string[] }));
    const a = evaluate(k8s, req);
    const b = evaluate(k8s, req);
    assert.deepEqual(a, b);
  });

  test('the same request gets the same answer whichever path it came by, when rules do not restrict paths', () => {
    const answers = (['api', 'acme', 'est'] as const).map((path) => evaluate(k8s, input(k8sToken('prod'), { path })));
    assert.deepEqual(answers[0], answers[1]);
    assert.deepEqual(answers[1], answers[2]);
  });
});

test('a claim that reads two ways (dotted key and nested path) is ambiguous and matches nothing', async () => {
  const { parsePolicy: parse, evaluate: decide } = await import('../../src/policy/index.js');
  const parsed = parse(`version: 1
guardrails:
  trustDomain: example.org
rules:
  - name: prod-only
    match:
      token:
        issuer: https://issuer.test
        claims:
          kubernetes.io.namespace: prod
    grant:
      spiffeId: 'spiffe://{trustDomain}/ns/{claims["kubernetes.io"].namespace}'
`);
  assert.ok(parsed.ok);
  const input = (claims: Record<string, unknown>) => ({
    path: 'api' as const,
    requester: { kind: 'token' as const, issuer: 'https://issuer.test', subject: 's', claims },
    keyAlgorithm: 'ecdsa-p256' as const,
    spiffeId: null,
    dnsNames: [],
    ipAddresses: [],
    lifetimeSeconds: null,
  });
  const straight = decide(parsed.policy, input({ 'kubernetes.io': { namespace: 'prod' } }));
  assert.ok(straight.allowed);
  assert.equal(straight.spiffeId, 'spiffe://example.org/ns/prod');
  const twoWays = decide(parsed.policy, input({ 'kubernetes.io.namespace': 'prod', 'kubernetes.io': { namespace: 'dev' } }));
  assert.equal(twoWays.allowed, false);
  assert.equal(twoWays.rule, 'default-deny');
});
