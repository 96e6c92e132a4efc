// The dashboard's session cookie and anti-CSRF token: signed, self-contained, expiring, bound to
// the admin token; and the pieces of its pages that must not let data become markup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readCookie, SessionCodec, sessionCookie } from '../../src/http/ui/session.js';
import { escapeHtml, html, jsonData, toText } from '../../src/http/ui/html.js';
import { quantile, readMetrics } from '../../src/http/ui/metrics-text.js';
import { fromThisOrigin } from '../../src/http/ui/plugin.js';

const secret = randomBytes(32);
const T0 = 1_800_000_000_000;

test('a session cookie checks out until it expires, and not after', () => {
  const codec = new SessionCodec(secret, 'admin-token', 600);
  const { cookie, session } = codec.issue(T0);
  assert.deepEqual(codec.check(cookie, T0 + 1000), { ok: true, session });
  assert.deepEqual(codec.check(cookie, T0 + 599_000), { ok: true, session });
  assert.deepEqual(codec.check(cookie, T0 + 600_000), { ok: false, why: 'expired' });
});

test('a tampered, foreign or malformed cookie is refused', () => {
  const codec = new SessionCodec(secret, 'admin-token', 600);
  const { cookie } = codec.issue(T0);
  const [v, exp, id, mac] = cookie.split('.');
  // A later expiry with the old signature.
  assert.equal(codec.check([v, Number(exp) + 60, id, mac].join('.'), T0).ok, false);
  assert.deepEqual(codec.check([v, exp, id, `${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`].join('.'), T0), {
    ok: false,
    why: 'bad-signature',
  });
  // Another install's key, or the same key after the admin token was rotated.
  assert.deepEqual(new SessionCodec(randomBytes(32), 'admin-token', 600).check(cookie, T0), { ok: false, why: 'bad-signature' });
  assert.deepEqual(new SessionCodec(secret, 'rotated-token', 600).check(cookie, T0), { ok: false, why: 'bad-signature' });
  assert.deepEqual(codec.check('v1.x.y.z', T0), { ok: false, why: 'malformed' });
  assert.deepEqual(codec.check(undefined, T0), { ok: false, why: 'absent' });
});

test('a signature over an expiry beyond the session lifetime is not honoured', () => {
  // Made by a server configured with longer sessions: this one does not extend trust that far.
  const long = new SessionCodec(secret, 'admin-token', 86400).issue(T0).cookie;
  assert.deepEqual(new SessionCodec(secret, 'admin-token', 600).check(long, T0), { ok: false, why: 'expired' });
});

test('the anti-CSRF token belongs to one session', () => {
  const codec = new SessionCodec(secret, 'admin-token', 600);
  const a = codec.issue(T0).session;
  const b = codec.issue(T0).session;
  assert.ok(codec.checkCsrf(a, codec.csrfToken(a)));
  assert.ok(!codec.checkCsrf(a, codec.csrfToken(b)));
  assert.ok(!codec.checkCsrf(a, undefined));
  assert.ok(!codec.checkCsrf(a, ''));
});

test('the cookie is HttpOnly, Secure, SameSite=Strict and scoped to /ui', () => {
  assert.equal(sessionCookie('v', 1800), 'wlca_session=v; Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age=1800');
  assert.equal(readCookie('a=1; wlca_session=abc.def; b=2', 'wlca_session'), 'abc.def');
  assert.equal(readCookie('a=1', 'wlca_session'), undefined);
});

test('interpolated values are escaped; markup made by html is not; data cannot close its element', () => {
  const id = `spiffe://td/ns/"><script>alert(1)</script>`;
  assert.equal(toText(html`<td title="${id}">${id}</td>`), `<td title="${escapeHtml(id)}">${escapeHtml(id)}</td>`);
  assert.ok(!toText(html`<p>${id}</p>`).includes('<script>'));
  assert.equal(toText(html`<p>${html`<b>x</b>`}</p>`), '<p><b>x</b></p>');
  const data = toText(jsonData('d', { reason: '</script><script>alert(1)</script>' }));
  assert.equal(data.match(/<\/script>/g)?.length, 1);
});

test('latency quantiles are read from the histogram buckets, per path and overall', () => {
  const text = [
    '# TYPE workload_ca_issuance_seconds histogram',
    'workload_ca_issuance_seconds_bucket{le="0.001",path="api"} 50',
    'workload_ca_issuance_seconds_bucket{le="0.002",path="api"} 100',
    'workload_ca_issuance_seconds_bucket{le="+Inf",path="api"} 100',
    'workload_ca_issuance_seconds_bucket{le="0.001",path="est"} 0',
    'workload_ca_issuance_seconds_bucket{le="0.002",path="est"} 0',
    'workload_ca_issuance_seconds_bucket{le="+Inf",path="est"} 100',
    'workload_ca_audit_queue_depth 3',
    'workload_ca_audit_queue_oldest_seconds -1',
  ].join('\n');
  const m = readMetrics(text);
  assert.equal(m.latency.api!.count, 100);
  assert.equal(m.latency.api!.p50, 0.001);
  assert.ok(Math.abs(m.latency.api!.p95 - 0.0019) < 1e-9);
  // Everything above the highest finite bucket: that bucket's bound, as Prometheus answers.
  assert.equal(m.latency.est!.p50, 0.002);
  assert.equal(m.latency.all!.count, 200);
  assert.equal(m.queueDepth, 3);
  assert.equal(m.queueOldestSeconds, null, 'a queue that could not be read (-1) is not a figure');
  assert.equal(quantile(0.5, []), 0);
});

test('a POST is from this origin when the browser says so, by Origin or, when that is null, by Fetch Metadata', () => {
  assert.ok(fromThisOrigin('https://ca.example:8443', 'ca.example:8443', undefined));
  assert.ok(!fromThisOrigin('https://evil.example', 'ca.example:8443', 'same-origin'), 'a named foreign origin wins');
  assert.ok(!fromThisOrigin('http://ca.example:8443', 'ca.example:8443', undefined), 'not over plain HTTP');
  // Chromium under Referrer-Policy: no-referrer.
  assert.ok(fromThisOrigin('null', 'ca.example:8443', 'same-origin'));
  assert.ok(!fromThisOrigin('null', 'ca.example:8443', 'cross-site'));
  assert.ok(!fromThisOrigin(undefined, 'ca.example:8443', 'same-site'));
  assert.ok(!fromThisOrigin(undefined, 'ca.example:8443', undefined), 'curl, a script');
});
