// The Helm chart and the container image, checked without a cluster or a container engine:
// values against the schema, every .Values path the templates use against values.yaml, the
// config.yaml and policy the chart ships against the CA's own loaders, template block balance,
// and the Dockerfile's shape. `helm lint` and `helm template` run only when helm is installed.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { parsePolicy } from '../../src/policy/document.js';
import { scratchDir } from '../support/scratch.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHART = join(ROOT, 'helm/workload-ca');
const TEMPLATES = join(CHART, 'templates');

type Values = Record<string, unknown>;
const values = (): Values => parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Values;
const templateFiles = (): string[] => readdirSync(TEMPLATES).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f));
const template = (f: string): string => readFileSync(join(TEMPLATES, f), 'utf8');

function schemaValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')));
}

/** Every `.Values.a.b` a template reads, including through `$x := .Values.a` variables. */
function valuesPaths(text: string): string[] {
  const paths = new Set<string>();
  for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.add(m[1]!.slice(1));
  for (const v of text.matchAll(/\$([A-Za-z_]\w*)\s*:=\s*\.Values((?:\.[A-Za-z_]\w*)+)/g)) {
    const base = v[2]!.slice(1);
    for (const use of text.matchAll(new RegExp(`\\$${v[1]}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, 'g'))) paths.add(`${base}${use[1]}`);
  }
  return [...paths];
}

function missingPaths(paths: readonly string[], root: Values): string[] {
  return paths.filter((p) => {
    let node: unknown = root;
    for (const key of p.split('.')) {
      if (node === null || typeof node !== 'object' || !(key in (node as object))) return true;
      node = (node as Record<string, unknown>)[key];
    }
    return false;
  });
}

describe('helm/workload-ca', () => {
  test('values.yaml validates against values.schema.json', () => {
    const validate = schemaValidator();
    assert.ok(validate(values()), JSON.stringify(validate.errors, null, 2));
  });

  test('the schema refuses wrong values: one replica, a misspelt key, a bad pull policy, a chart-managed config key', () => {
    const validate = schemaValidator();
    // The chart's values are untyped YAML; each case reaches into them to break one thing.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const cases: [string, (v: any) => void][] = [
      ['api.replicas 1', (v) => (v.api.replicas = 1)],
      ['misspelt api.replica', (v) => (v.api.replica = 3)],
      ['image.pullPolicy sometimes', (v) => (v.image.pullPolicy = 'Sometimes')],
      ['config.listen (set by the chart)', (v) => (v.config.listen = { port: 1 })],
      ['no CA secret', (v) => (v.secrets.ca = '')],
    ];
    for (const [name, mutate] of cases) {
      const v = values();
      mutate(v);
      assert.equal(validate(v), false, `${name} should be refused`);
    }
  });

  test('every .Values path used in the templates exists in values.yaml', () => {
    const v = values();
    const used = templateFiles().flatMap((f) => valuesPaths(template(f)).map((p) => ({ f, p })));
    assert.ok(used.length > 50, `only ${used.length} paths found: the scanner is broken`);
    const missing = used.filter(({ p }) => missingPaths([p], v).length > 0).map(({ f, p }) => `${f}: .Values.${p}`);
    assert.deepEqual(missing, []);
  });

  test('the path scanner catches a path that values.yaml lacks, directly or through a variable', () => {
    const synthetic =
      '{{ .Values.api.replicas }} {{ .Values.api.replicaz }}\n{{- $np := .Values.networkPolicy }}{{ $np.redis.port }} {{ $np.redis.portz }}';
    assert.deepEqual(missingPaths(valuesPaths(synthetic), values()).sort(), ['api.replicaz', 'networkPolicy.redis.portz']);
  });

  test('templates have balanced actions and blocks', () => {
    for (const f of templateFiles()) {
      const text = template(f);
      assert.equal((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${f}: {{ and }} do not pair`);
      const opens = (text.match(/\{\{-?\s*(if|with|range|define)\b/g) ?? []).length;
      const ends = (text.match(/\{\{-?\s*end\s*-?\}\}/g) ?? []).length;
      assert.equal(opens, ends, `${f}: ${opens} blocks opened, ${ends} ended`);
    }
  });

  test('Chart.yaml: apiVersion v2, the app version is the package version', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.name, 'workload-ca');
    assert.match(chart.version!, /^\d+\.\d+\.\d+/);
    assert.equal(chart.appVersion, pkg.version);
  });

  test('the config.yaml the chart renders (without its optional parts) is one the CA accepts', () => {
    const text = template('configmap-config.yaml');
    const block = text.slice(text.indexOf('config.yaml: |') + 'config.yaml: |'.length).split('\n');
    // The fixed part is plain YAML; template lines either add optional keys or insert .Values.config.
    const fixed = block
      .filter((l) => !l.includes('{{'))
      .map((l) => l.replace(/^ {4}/, ''))
      .join('\n');
    assert.match(text, /toYaml \.Values\.config \| nindent 4/);
    const rendered = `${fixed}\n${toYaml(values().config)}`;
    const dir = scratchDir('wlca-chart-');
    try {
      writeFileSync(join(dir, 'config.yaml'), rendered);
      const result = loadConfig(
        { WORKLOAD_CA_CONFIG: join(dir, 'config.yaml'), DATABASE_URL: 'postgres://db/ca', REDIS_URL: 'redis://redis:6379', WORKLOAD_CA_PORT: '8443' },
        dir,
      );
      assert.ok(result.ok, `the CA refuses the chart's config:\n${rendered}\n${JSON.stringify(!result.ok && result.problems)}`);
      assert.equal(result.config.policyFile, '/etc/workload-ca/policy/policy.yaml');
      assert.equal(result.config.worker.metricsHost, '0.0.0.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the policy in values.yaml is one the CA accepts', () => {
    const result = parsePolicy((values().policy as { document: string }).document);
    assert.ok(result.ok, JSON.stringify(result));
  });

  test('helm lint and helm template, when helm is installed', (t) => {
    if (spawnSync('helm', ['version'], { stdio: 'ignore' }).error) {
      t.skip('helm is not installed on this machine: helm lint and helm template were not run');
      return;
    }
    const lint = spawnSync('helm', ['lint', CHART, '--strict'], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const rendered = spawnSync(
      'helm',
      [
        'template',
        'ca',
        CHART,
        '--set',
        'ingress.enabled=true,autoscaling.enabled=true,serviceMonitor.enabled=true,secrets.tls=ca-tls,secrets.admin=ca-admin',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(rendered.status, 0, rendered.stderr);
    for (const kind of [
      'Deployment',
      'Job',
      'ConfigMap',
      'Service',
      'Ingress',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceMonitor',
    ]) {
      assert.match(rendered.stdout, new RegExp(`^kind: ${kind}$`, 'm'), kind);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'));

  test('multi-stage, runs bin/workload-ca.js as a numeric non-root user, serve by default', () => {
    assert.ok(lines.filter((l) => /^FROM\s/.test(l)).length >= 2, 'at least a build stage and a runtime stage');
    const user = lines.filter((l) => /^USER\s/.test(l)).pop();
    assert.ok(user, 'a USER line');
    const uid = user!.split(/\s+/)[1]!.split(':')[0]!;
    assert.match(uid, /^[1-9]\d*$/, 'numeric, so runAsNonRoot can check it');
    assert.match(dockerfile, /^ENTRYPOINT \["node", "bin\/workload-ca\.js"\]$/m);
    assert.match(dockerfile, /^CMD \["serve"\]$/m);
  });

  test('everything the image copies from the repository exists and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = lines.filter((l) => /^COPY\s/.test(l) && !l.includes('--from=')).flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
    assert.ok(sources.length >= 5);
    for (const s of sources) {
      assert.ok(existsSync(join(ROOT, s)), `${s} does not exist`);
      assert.ok(!ignored.includes(s), `${s} is excluded by .dockerignore`);
    }
  });
});
