import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runArrivalRate, runClosedLoop, type MixEntry } from '../support/drive.js';
import { pkcs7LeafSerial } from '../support/scenarios/est.js';
import { normalizeSerial, type Scenario, type ScenarioKind } from '../support/scenarios/scenario.js';
import { report } from '../../load/profile-report.js';
import { certsOnly } from '../../src/pki/pkcs7.js';
import { fromPem } from '../../src/pki/certificate.js';
import { opensslRoot } from '../support/openssl-pki.js';
import { scratchDir } from '../support/scratch.js';

describe('serials the load tools reconcile with the ledger', () => {
  test('the serial read from an EST reply equals the certificate’s, sign byte and case aside', () => {
    const dir = scratchDir('wlca-load-tools-');
    try {
      // A serial with its top bit set: DER adds a 00 byte, X509Certificate prints it upper case.
      opensslRoot(join(dir, 'c'), '/CN=t', { days: 1, serial: '0xF1E2D3C4B5A69788' });
      const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
      const reply = certsOnly(fromPem(pem)).toString('base64');
      const fromReply = pkcs7LeafSerial(reply);
      assert.equal(fromReply, '00f1e2d3c4b5a69788');
      assert.equal(normalizeSerial(fromReply), normalizeSerial(new X509Certificate(pem).serialNumber));
      assert.throws(() => pkcs7LeafSerial(Buffer.from('not der').toString('base64')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A scenario with no server behind it, to check the driver's bookkeeping alone. */
function counting(kind: ScenarioKind, opts: { failEvery?: number; delayMs?: number } = {}): Scenario<string> & { attempts: () => number } {
  let attempts = 0;
  return {
    kind,
    attempts: () => attempts,
    async clients(count) {
      return Array.from({ length: count }, () => ({
        async attempt() {
          const n = ++attempts;
          // A slow answer is what the arrival-rate test needs (every user busy), not a wait for anything.
          if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
          else await Promise.resolve();
          if (opts.failEvery && n % opts.failEvery === 0) return { ok: false as const, error: `${kind} failed` };
          return { ok: true as const, serial: () => `${kind}-${n}`, sample: () => `${kind}-${n}` };
        },
        close: async () => undefined,
      }));
    },
    verify: (samples) => ({ checked: samples.length, failures: [] }),
  };
}

describe('the load driver', () => {
  test('a weighted mix starts attempts in its proportions and keeps every serial received', async () => {
    const api = counting('api');
    const est = counting('est');
    const acme = counting('acme', { failEvery: 4 });
    const entries: MixEntry[] = [
      { scenario: api as Scenario<unknown>, weight: 70 },
      { scenario: est as Scenario<unknown>, weight: 20 },
      { scenario: acme as Scenario<unknown>, weight: 10 },
    ];
    const r = await runClosedLoop(entries, { concurrency: 4, warmupSeconds: 0, durationSeconds: 0.3, verifySample: 5 });
    const total = api.attempts() + est.attempts() + acme.attempts();
    assert.ok(total > 1000, `only ${total} attempts`);
    assert.ok(Math.abs(api.attempts() / total - 0.7) < 0.05, `api share ${api.attempts() / total}`);
    assert.ok(Math.abs(est.attempts() / total - 0.2) < 0.05, `est share ${est.attempts() / total}`);
    const failed = Math.floor(acme.attempts() / 4);
    assert.equal(r.serials.length, total - failed, 'one serial per successful attempt, none per failure');
    assert.equal(new Set(r.serials).size, r.serials.length);
    const acmeResult = r.kinds.find((k) => k.kind === 'acme')!;
    assert.ok(acmeResult.errors.total > 0 && acmeResult.errors.distinct[0]!.message === 'acme failed');
    assert.equal(r.kinds.find((k) => k.kind === 'api')!.samples.length, 5);
  });

  test('at a fixed arrival rate, an attempt due while every user is busy is dropped and counted', async () => {
    const slow = counting('api', { delayMs: 200 });
    const r = await runArrivalRate([{ scenario: slow as Scenario<unknown>, weight: 1 }], {
      ratePerSecond: 100,
      durationSeconds: 1,
      maxInFlight: 1,
      verifySample: 0,
    });
    // One user busy 200 ms per attempt can start at most about five in a second; the rest were due and dropped.
    assert.ok(slow.attempts() <= 6, `${slow.attempts()} attempts started`);
    assert.ok(r.dropped >= 80, `${r.dropped} dropped`);
    assert.equal(r.serials.length, slow.attempts());
  });
});

describe('the CPU profile report', () => {
  test('self, per-file and inclusive shares of a profile', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: frame('issue', 'file:///app/dist/issuance/issuer.js'), children: [3] },
        { id: 3, callFrame: frame('sign', 'node:internal/crypto/sig') },
        { id: 4, callFrame: frame('(idle)', '') },
      ],
      samples: [3, 3, 2, 4],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const text = report(profile, 10);
    assert.match(text, /50\.0% {2}sign {2}node:internal\/crypto\/sig:1/);
    assert.match(text, /by file or package:\n\s+50\.0% {2}node:internal\/crypto\/sig\n\s+25\.0% {2}dist\/issuance\/issuer\.js/);
    assert.match(text, /inclusive:\n\s+100\.0% {2}\(root\)[^\n]*\n\s+75\.0% {2}issue {2}dist\/issuance\/issuer\.js:1/);
  });
});
