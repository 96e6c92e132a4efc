// The dashboard end to end: the real CLI serving real HTTPS (embedded mode, one process), driven
// by Debian's chromium through playwright-core; and at the
// HTTP level, the cookie, CSRF, CSP and session rules a browser would hide. One server, one
// browser, one context. WORKLOAD_CA_SCREENSHOTS=docs writes the README's screenshots.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SessionCodec } from '../../src/http/ui/session.js';
import { buildCsr } from '../support/csr.js';
import { eventually } from '../support/eventually.js';
import { scratchDir } from '../support/scratch.js';
import { https, removeDataDir, ROOT, startServer, type TestServer } from '../support/server.js';

const TD = 'workload-ca.test';
const WORKLOADS: [string, string][] = [
  ['payments', 'api'],
  ['payments', 'ledger'],
  ['web', 'frontend'],
];
const SHOTS = process.env.WORKLOAD_CA_SCREENSHOTS ? resolve(ROOT, process.env.WORKLOAD_CA_SCREENSHOTS) : scratchDir('wlca-ui-shots-');

let server: TestServer;
let adminToken: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const admin = (): Record<string, string> => ({ authorization: `Bearer ${adminToken}` });

async function token(key: KeyObject, ns: string, sa: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ 'kubernetes.io': { namespace: ns, serviceaccount: { name: sa } } })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer('https://token-issuer.workload-ca.test')
    .setAudience('workload-ca')
    .setSubject(`system:serviceaccount:${ns}:${sa}`)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + 600)
    .sign(key);
}

const svid = (authorization: string) =>
  https(server, 'POST', '/v1/svids', {
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ csr: buildCsr().pem }),
  });

before(async () => {
  [server, browser] = await Promise.all([
    startServer({ workers: 1, env: { WORKLOAD_CA_LOG_LEVEL: 'info' } }),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] }),
  ]);
  adminToken = readFileSync(join(server.dataDir, 'admin-token'), 'utf8').trim();
  const devKey = createPrivateKey(readFileSync(join(server.dataDir, 'dev-token-issuer/signing-key.pem'), 'utf8'));
  for (const [ns, sa] of WORKLOADS) assert.equal((await svid(`Bearer ${await token(devKey, ns, sa)}`)).status, 201);
  assert.equal((await svid('Bearer not-a-token')).status, 401);
  await eventually('the ledger holds the certificates and the refusal', async () => {
    const certs = (await https(server, 'GET', '/v1/admin/certificates', { headers: admin() })).json().items.length;
    const denials = (await https(server, 'GET', '/v1/admin/denials', { headers: admin() })).json().items.length;
    return certs === WORKLOADS.length && denials >= 1;
  });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (server) removeDataDir(server.dataDir);
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });

describe('in a browser', () => {
  test('without a session every page sends you to sign in; a wrong token is refused, the admin token lets you in', async () => {
    await page.goto(`${server.url}/ui/workloads`);
    assert.equal(new URL(page.url()).pathname, '/ui/login');
    await page.fill('input[name=token]', 'not-the-admin-token');
    await page.click('button[type=submit]');
    assert.match((await page.textContent('#login-error')) ?? '', /not the admin token/);
    assert.equal((await context.cookies()).length, 0);
    await page.fill('input[name=token]', adminToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server.url}/ui/`);
    assert.equal(await page.textContent('h1'), 'Overview');
  });

  test('the overview shows the numbers the inventory API gives, and draws its charts', async () => {
    await page.goto(`${server.url}/ui/`);
    const byTd = (await https(server, 'GET', '/v1/admin/stats/live?group_by=trust_domain', { headers: admin() })).json().groups;
    const byPath = (await https(server, 'GET', '/v1/admin/stats/live?group_by=path', { headers: admin() })).json().groups;
    const shown = async (table: string) =>
      page.$$eval(`#${table} tbody tr`, (rows) =>
        rows.map((r) => ({
          key: r.querySelector('td')!.textContent!.trim(),
          count: Number(r.querySelector('td[data-count]')!.getAttribute('data-count')),
        })),
      );
    assert.deepEqual(await shown('live-by-trust-domain'), byTd);
    assert.deepEqual(await shown('live-by-path'), byPath);
    assert.equal(await page.textContent('#live-total'), String(WORKLOADS.length));
    assert.equal(await page.textContent('#issued-hour'), String(WORKLOADS.length));
    assert.match((await page.getAttribute('#policy-hash', 'title')) ?? '', /^sha256:[0-9a-f]{64}$/);
    // uPlot drew into both chart boxes: the script ran under the CSP.
    await page.waitForSelector('[data-chart="chart-day"] canvas');
    assert.equal(await page.locator('.chart canvas').count(), 2);
    await shot('overview');
  });

  test('drill down from the tree to a certificate: who asked, which rule, when it expires', async () => {
    await page.click('nav >> text=Workloads');
    await page.click(`#tree >> text=${TD}`);
    assert.equal(await page.getAttribute('#tree tr:has-text("ns/payments") td[data-count]', 'data-count'), '2');
    await page.click('#tree >> text=ns/payments');
    await shot('workloads');
    await page.click('#tree >> text=sa/api');
    await page.click('#certificates tbody tr >> nth=0 >> a');
    assert.match((await page.textContent('#certificate')) ?? '', new RegExp(`spiffe://${TD}/ns/payments/sa/api`));
    assert.equal((await page.textContent('#rule'))?.trim(), 'kubernetes-service-accounts');
    assert.match((await page.textContent('#status')) ?? '', /live/);
    await shot('certificate');
  });

  test('revoke from the UI: a confirmation with the count, then the certificate shows revoked and the API agrees', async () => {
    const serial = page.url().split('/').pop()!;
    await page.click('text=Revoke this certificate');
    assert.equal(await page.getAttribute('#revoke-count', 'data-count'), '1');
    await page.selectOption('select[name=reason]', '1');
    await page.fill('input[name=note]', 'INC-1234');
    await shot('revoke');
    await page.click('#confirm-revoke');
    assert.equal(await page.getAttribute('#revoked-count', 'data-count'), '1');
    await page.goto(`${server.url}/ui/certificates/${serial}`);
    assert.match((await page.textContent('#status')) ?? '', /revoked.*keyCompromise/s);
    const [row] = (await https(server, 'GET', `/v1/admin/certificates/${serial}`, { headers: admin() })).json();
    assert.equal(row.revocation.reason, 1);
    assert.match(JSON.stringify(row.revocation.revoked_by), /INC-1234/);
    // Revoked is no longer live, on the overview as in the inventory API.
    await page.goto(`${server.url}/ui/`);
    const live = (await https(server, 'GET', '/v1/admin/stats/live', { headers: admin() })).json().groups[0].count as number;
    assert.equal(live, WORKLOADS.length - 1);
    assert.equal(await page.textContent('#live-total'), String(live));
  });

  test('refusals by rule and code lead to their events; the policy page counts hits per rule', async () => {
    await page.goto(`${server.url}/ui/refusals`);
    await page.click('#refusal-groups tbody tr >> nth=0 >> a');
    assert.match((await page.textContent('#refusal-events')) ?? '', /not-a-token|token/);
    await page.goto(`${server.url}/ui/refusals`);
    await shot('refusals');
    await page.goto(`${server.url}/ui/policy`);
    assert.equal(await page.getAttribute('tr[data-rule="kubernetes-service-accounts"] td[data-issued]', 'data-issued'), String(WORKLOADS.length));
    await shot('policy');
  });
});

describe('over HTTP', () => {
  const origin = (): string => server.url;
  const login = async () => {
    const r = await https(server, 'POST', '/ui/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: origin() },
      body: new URLSearchParams({ token: adminToken }).toString(),
    });
    assert.equal(r.status, 303);
    return String(r.headers['set-cookie']);
  };
  const cookieOf = (setCookie: string): string => setCookie.split(';')[0]!;
  const csrfOf = async (cookie: string): Promise<string> => {
    const r = await https(server, 'GET', '/ui/workloads', { headers: { cookie } });
    return /name="_csrf" value="([^"]+)"/.exec(r.body)![1]!;
  };

  test('the session cookie is HttpOnly, Secure, SameSite=Strict, scoped to /ui and short-lived', async () => {
    const attrs = (await login()).split(';').map((s) => s.trim());
    assert.match(attrs[0]!, /^wlca_session=v1\./);
    for (const a of ['Path=/ui', 'HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=1800'])
      assert.ok(attrs.includes(a), `${a} in ${attrs.join('; ')}`);
  });

  test('every page, redirect and error carries the CSP and the other security headers', async () => {
    const cookie = cookieOf(await login());
    for (const path of [
      '/ui/login',
      '/ui/',
      '/ui/workloads',
      '/ui/refusals',
      '/ui/policy',
      '/ui/certificates/00',
      '/ui/nowhere',
      '/ui/workloads?node=bad',
    ]) {
      for (const headers of [{}, { cookie }] as Record<string, string>[]) {
        const r = await https(server, 'GET', path, { headers });
        const csp = String(r.headers['content-security-policy']);
        assert.match(csp, /default-src 'self'/, `${path}: ${r.status}`);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
        assert.equal(r.headers['referrer-policy'], 'no-referrer');
      }
    }
    const html = (await https(server, 'GET', '/ui/', { headers: { cookie } })).body;
    assert.doesNotMatch(html, /<script(?![^>]*(src=|type="application\/json"))/, 'no inline script');
    const js = /src="(\/ui\/assets\/uplot\.[0-9a-f]+\.js)"/.exec(html)![1]!;
    const asset = await https(server, 'GET', js);
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['cache-control']), /max-age=31536000, immutable/);
    assert.match(asset.body, /uPlot/);
  });

  test('a state change without the anti-CSRF token, from a foreign origin or with no origin is refused and changes nothing', async () => {
    const cookie = cookieOf(await login());
    const csrf = await csrfOf(cookie);
    const live = async () => (await https(server, 'GET', '/v1/admin/stats/live', { headers: admin() })).json().groups[0].count as number;
    const before = await live();
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      https(server, 'POST', '/ui/revoke', {
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers },
        body: new URLSearchParams({ subtree: `spiffe://${TD}`, expected: '99', reason: '0', ...form }).toString(),
      });
    assert.equal((await post({ origin: origin() }, {})).status, 403, 'no token');
    assert.equal((await post({ origin: origin() }, { _csrf: `${csrf.slice(0, -2)}AA` })).status, 403, 'a wrong token');
    assert.equal((await post({ origin: 'https://attacker.example' }, { _csrf: csrf })).status, 403, 'a foreign origin');
    assert.equal((await post({}, { _csrf: csrf })).status, 403, 'no origin');
    assert.equal((await post({ origin: 'null', 'sec-fetch-site': 'cross-site' }, { _csrf: csrf })).status, 403, 'an opaque origin from another site');
    const foreignLogin = await https(server, 'POST', '/ui/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://attacker.example' },
      body: new URLSearchParams({ token: adminToken }).toString(),
    });
    assert.equal(foreignLogin.status, 403);
    assert.equal(foreignLogin.headers['set-cookie'], undefined);
    assert.equal(await live(), before);
  });

  test('a tampered, expired or foreign session is refused: the pages send you to sign in', async () => {
    const good = cookieOf(await login());
    const key = Buffer.from(readFileSync(join(server.dataDir, 'ui-session-key'), 'utf8').trim());
    const expired = new SessionCodec(key, adminToken, 1800).issue(Date.now() - 3600_000).cookie;
    const foreign = new SessionCodec(Buffer.alloc(43, 1), adminToken, 1800).issue(Date.now()).cookie;
    const [name, value] = good.split('=') as [string, string];
    const [v, exp, id, mac] = value.split('.');
    const tampered = `${name}=${[v, Number(exp) - 1, id, mac].join('.')}`;
    for (const cookie of [tampered, `wlca_session=${expired}`, `wlca_session=${foreign}`, 'wlca_session=garbage']) {
      const r = await https(server, 'GET', '/ui/', { headers: { cookie } });
      assert.equal(r.status, 303, cookie);
      assert.equal(r.headers.location, '/ui/login');
      assert.match(String(r.headers['set-cookie']), /Max-Age=0/, 'the bad cookie is cleared');
    }
    assert.equal((await https(server, 'GET', '/ui/', { headers: { cookie: good } })).status, 200);
  });

  test('sign-out clears the cookie; attempts are logged, never the token', async () => {
    const cookie = cookieOf(await login());
    const r = await https(server, 'POST', '/ui/logout', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: origin() },
      body: new URLSearchParams({ _csrf: await csrfOf(cookie) }).toString(),
    });
    assert.equal(r.status, 303);
    assert.match(String(r.headers['set-cookie']), /^wlca_session=; Path=\/ui;.*Max-Age=0/);
    const out = server.output();
    assert.match(out, /"event":"dashboard-login","outcome":"failure"/);
    assert.match(out, /"event":"dashboard-login","outcome":"success"/);
    assert.ok(!out.includes(adminToken));
    assert.ok(!out.includes('not-the-admin-token'));
  });
});
