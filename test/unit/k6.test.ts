// The k6 scripts cannot run here (k6 is not installable on the development machines), so they
// are held to what can be checked: they type-check against @types/k6, their shared settings
// module behaves as the README says, the entry scripts have the required structure, and the
// data they read is what prepare.ts writes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { request } from 'undici';
import { prepare } from '../../load/k6/prepare.js';
import { startResponder } from '../../load/k6/http01-responder.js';
import { parseCsr, verifyProofOfPossession } from '../../src/pki/csr.js';
import { scratchDir } from '../support/scratch.js';

const K6 = resolve(import.meta.dirname, '../../load/k6');
const ENTRY_SCRIPTS = ['api.js', 'acme.js', 'est.js', 'mixed.js'];

function k6Program(extra?: { file: string; text: string }): readonly ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(K6, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) },
  )!;
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  if (extra)
    host.getSourceFile = (f, lang, ...rest) => (resolve(f) === extra.file ? ts.createSourceFile(f, extra.text, lang) : read(f, lang, ...rest));
  const files = extra ? [...config.fileNames, extra.file] : config.fileNames;
  const program = ts.createProgram(files, config.options, host);
  return ts.getPreEmitDiagnostics(program);
}

const format = (ds: readonly ts.Diagnostic[]): string =>
  ds.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n');

describe('k6 scripts', () => {
  test('type-check against @types/k6 with no diagnostics', () => {
    const diagnostics = k6Program();
    assert.equal(diagnostics.length, 0, format(diagnostics));
  });

  test('the type-check catches a wrong k6 call (so the check above can fail)', () => {
    const file = join(K6, '__negative__.js');
    const text =
      "import http from 'k6/http';\nimport { check } from 'k6';\nexport default function () { check(http.post(42, null, { tags: 'x' }), 'not checks'); }\n";
    const diagnostics = k6Program({ file, text }).filter((d) => d.file?.fileName === file);
    assert.ok(diagnostics.length >= 2, `expected diagnostics, got: ${format(diagnostics)}`);
  });

  test('each entry script: options with scenarios, thresholds, summary trend stats, handleSummary', () => {
    for (const name of ENTRY_SCRIPTS) {
      const src = readFileSync(join(K6, name), 'utf8');
      assert.match(src, /export const options = \{/, name);
      assert.match(src, /scenarios: \{[^}]*arrivalScenario\(/s, `${name}: scenarios come from arrivalScenario`);
      assert.match(src, /thresholds: .*thresholds\(\{/, `${name}: per-path p(99) thresholds`);
      assert.match(src, /summaryTrendStats/, name);
      assert.match(src, /export function handleSummary\(data\)/, name);
    }
    const mixed = readFileSync(join(K6, 'mixed.js'), 'utf8');
    assert.match(mixed, /MIX = \{ api: 0\.7, est: 0\.2, acme: 0\.1 \}/);
    for (const kind of ['api', 'est', 'acme']) assert.match(mixed, new RegExp(`${kind}: arrivalScenario\\('${kind}', MIX\\.${kind}\\)`));
  });
});

describe('load/k6/lib/common.js, run under Node with k6’s __ENV', () => {
  test('rate, duration and base URL come from -e variables; thresholds and trend stats as required', async () => {
    const g = globalThis as { __ENV?: Record<string, string> };
    g.__ENV = { RATE: '1000', DURATION: '90s', BASE_URL: 'https://ca.example:8443/' };
    try {
      const common = await import(`${join(K6, 'lib/common.js')}?${Date.now()}`);
      assert.equal(common.BASE_URL, 'https://ca.example:8443');
      const s = common.arrivalScenario('api', 0.7);
      assert.equal(s.executor, 'constant-arrival-rate');
      assert.equal(s.rate, 700);
      assert.equal(s.timeUnit, '1s');
      assert.equal(s.duration, '90s');
      assert.equal(s.exec, 'api');
      assert.ok(s.maxVUs >= s.preAllocatedVUs && s.preAllocatedVUs > 0);
      const t = common.thresholds({ api: 25, acme: 250 });
      assert.deepEqual(t.http_req_failed, ['rate<0.001']);
      assert.deepEqual(t['http_req_duration{path:api}'], ['p(99)<25']);
      assert.deepEqual(t['http_req_duration{path:acme}'], ['p(99)<250']);
      assert.ok(common.summaryTrendStats.includes('p(99)'));
      const data = {
        metrics: { 'http_req_duration{path:api}': { values: { med: 1, 'p(95)': 2, 'p(99)': 3 }, thresholds: { 'p(99)<25': { ok: true } } } },
      };
      const out = common.summary('api', data);
      assert.match(out.stdout, /✓ http_req_duration\{path:api\}: med 1\.0 ms, p\(95\) 2\.0 ms, p\(99\) 3\.0 ms/);
      assert.deepEqual(JSON.parse(out['k6-api-summary.json']), data);
    } finally {
      delete g.__ENV;
    }
  });
});

describe('load/k6/prepare.ts and the http-01 responder', () => {
  test('prepared CSRs are valid, signed, and name what each path needs', () => {
    const dir = scratchDir('wlca-k6-');
    try {
      const written = prepare({
        out: dir,
        count: 3,
        trustDomain: 'td.test',
        tokens: ['t1', 't2'],
        estDevicePrefix: 'spiffe://td.test/gateway/gw-1/device/',
        acmeBinding: 'web',
      });
      assert.deepEqual(written, ['api.json', 'est.json', 'acme.json']);
      const api = JSON.parse(readFileSync(join(dir, 'api.json'), 'utf8')) as { csr: string; token: string }[];
      assert.deepEqual(
        api.map((r) => r.token),
        ['t1', 't2', 't1'],
      );
      const est = JSON.parse(readFileSync(join(dir, 'est.json'), 'utf8')) as string[];
      const acme = JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8')) as { name: string; csr: string }[];
      const parsed = (der: Buffer) => {
        const r = parseCsr(der);
        assert.ok(r.ok, JSON.stringify(r));
        assert.ok(verifyProofOfPossession(r.csr));
        return r.csr;
      };
      const pemDer = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      api.forEach((r) => parsed(pemDer(r.csr)));
      est.forEach((b64, i) => assert.deepEqual(parsed(Buffer.from(b64, 'base64')).requested.uris, [`spiffe://td.test/gateway/gw-1/device/d-${i}`]));
      acme.forEach((o, i) => {
        assert.match(o.name, new RegExp(`^h${i}-[0-9a-f]{6}\\.web\\.vm\\.td\\.test$`));
        assert.deepEqual(parsed(Buffer.from(o.csr, 'base64url')).requested.dnsNames, [o.name]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the responder serves what k6 published, and nothing else', async () => {
    const r = await startResponder(0, 0, '127.0.0.1');
    try {
      const port = (s: typeof r.challenge): number => (s.address() as { port: number }).port;
      const token = 'A'.repeat(43);
      const put = await request(`http://127.0.0.1:${port(r.control)}/${token}`, { method: 'PUT', body: `${token}.thumb` });
      assert.equal(put.statusCode, 204);
      await put.body.dump();
      const get = await request(`http://127.0.0.1:${port(r.challenge)}/.well-known/acme-challenge/${token}`);
      assert.equal(get.statusCode, 200);
      assert.equal(await get.body.text(), `${token}.thumb`);
      const unknown = await request(`http://127.0.0.1:${port(r.challenge)}/.well-known/acme-challenge/${'B'.repeat(43)}`);
      assert.equal(unknown.statusCode, 404);
      await unknown.body.dump();
      const bad = await request(`http://127.0.0.1:${port(r.control)}/short`, { method: 'PUT', body: 'x' });
      assert.equal(bad.statusCode, 400);
      await bad.body.dump();
    } finally {
      await r.close();
    }
  });
});
