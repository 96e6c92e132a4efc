import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInTrustDomain, parseSpiffeId, trustDomainId, type SpiffeIdError } from '../../src/pki/spiffe.js';

function ok(s: string) {
  const r = parseSpiffeId(s);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(s)} to parse, got ${r.error.code}: ${r.error.message}`);
  return r.id;
}

function rejects(s: string, code: SpiffeIdError['code'], message?: RegExp): SpiffeIdError {
  const r = parseSpiffeId(s);
  if (r.ok) assert.fail(`expected ${JSON.stringify(s)} to be rejected with ${code}`);
  assert.equal(r.error.code, code, `${JSON.stringify(s)}: ${r.error.message}`);
  assert.ok(r.error.message.length > 0);
  if (message) assert.match(r.error.message, message);
  return r.error;
}

test('valid ID without a path', () => {
  assert.deepEqual(ok('spiffe://example.org'), { trustDomain: 'example.org', path: '', uri: 'spiffe://example.org' });
});

test('valid ID with a path', () => {
  assert.deepEqual(ok('spiffe://example.org/ns/prod/sa/Web-Frontend_1.v2'), {
    trustDomain: 'example.org',
    path: '/ns/prod/sa/Web-Frontend_1.v2',
    uri: 'spiffe://example.org/ns/prod/sa/Web-Frontend_1.v2',
  });
});

test('every allowed character', () => {
  ok('spiffe://abcdefghijklmnopqrstuvwxyz0123456789.-_/abcdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNOPQRSTUVWXYZ/0123456789.-_');
  // Dots are fine inside a segment or as part of a longer one; only "." and ".." alone are not.
  ok('spiffe://example.org/.../.a/..b/a.');
});

test('empty string', () => {
  rejects('', 'empty');
});

test('upper-case trust domain is an error, not folded', () => {
  rejects('spiffe://Example.org/a', 'trust-domain', /lower-case.*"E".*offset 9/);
});

test('upper-case scheme', () => {
  rejects('SPIFFE://example.org', 'scheme', /lower-case/);
  rejects('Spiffe://example.org/a', 'scheme', /lower-case/);
});

test('wrong or missing scheme', () => {
  rejects('https://example.org/a', 'scheme', /"https"/);
  rejects('spiffe:/example.org', 'scheme');
  rejects('spiffe:example.org', 'scheme');
  rejects('example.org/a', 'scheme');
  rejects('://example.org', 'scheme');
});

test('missing trust domain', () => {
  rejects('spiffe://', 'trust-domain', /missing/);
  rejects('spiffe:///path', 'trust-domain', /missing/);
});

test('empty path segment', () => {
  rejects('spiffe://example.org//a', 'path', /empty path segment/);
  rejects('spiffe://example.org/a//b', 'path', /empty path segment/);
});

test('"." and ".." segments', () => {
  rejects('spiffe://example.org/.', 'path', /path segment "\." is not allowed/);
  rejects('spiffe://example.org/a/./b', 'path', /path segment "\." is not allowed/);
  rejects('spiffe://example.org/..', 'path', /path segment "\.\." is not allowed/);
  rejects('spiffe://example.org/a/../b', 'path', /path segment "\.\." is not allowed/);
});

test('trailing slash', () => {
  rejects('spiffe://example.org/', 'path', /trailing slash/);
  rejects('spiffe://example.org/a/', 'path', /trailing slash/);
});

test('query', () => {
  rejects('spiffe://example.org/a?b=c', 'query-or-fragment', /query/);
  rejects('spiffe://example.org?b=c', 'query-or-fragment', /query/);
});

test('fragment', () => {
  rejects('spiffe://example.org/a#frag', 'query-or-fragment', /fragment/);
  rejects('spiffe://example.org#frag', 'query-or-fragment', /fragment/);
});

test('port', () => {
  rejects('spiffe://example.org:8443/a', 'userinfo-or-port', /port/);
  rejects('spiffe://example.org:', 'userinfo-or-port', /port/);
});

test('userinfo', () => {
  rejects('spiffe://user@example.org/a', 'userinfo-or-port', /userinfo/);
  rejects('spiffe://user:pass@example.org', 'userinfo-or-port', /userinfo/);
});

test('percent-encoding', () => {
  rejects('spiffe://example.org/a%2Fb', 'percent-encoding');
  rejects('spiffe://example%2eorg/a', 'percent-encoding');
  rejects('spiffe://example.org/%2e%2e', 'percent-encoding');
});

test('illegal characters', () => {
  rejects('spiffe://exa mple.org', 'trust-domain', /illegal character U\+0020/);
  rejects('spiffe://exämple.org', 'trust-domain', /illegal character U\+00E4/);
  rejects('spiffe://[::1]/a', 'trust-domain', /illegal character "\["/);
  rejects('spiffe://example.org/a b', 'path', /illegal character U\+0020/);
  rejects('spiffe://example.org/a:b', 'path', /illegal character ":"/);
  rejects('spiffe://example.org/a@b', 'path', /illegal character "@"/);
  rejects('spiffe://example.org/a+b', 'path', /illegal character "\+"/);
  rejects('spiffe://example.org/a\\b', 'path', /illegal character/);
  rejects('spiffe://example.org/caf\u00e9', 'path', /U\+00E9/);
  rejects('spiffe://example.org/\u{1F600}', 'path', /U\+1F600/);
  rejects('spiffe://example.org/a\nb', 'path', /U\+000A/);
});

test('ID length limit is 2048 bytes', () => {
  const prefix = 'spiffe://example.org/';
  const at2048 = prefix + 'a'.repeat(2048 - prefix.length);
  assert.equal(Buffer.byteLength(at2048), 2048);
  ok(at2048);
  const at2049 = at2048 + 'a';
  rejects(at2049, 'too-long', /2049 bytes/);
});

test('ID length limit counts UTF-8 bytes, not characters', () => {
  // 721 characters but 2121 bytes: the length error wins over the character error.
  rejects('spiffe://example.org/' + '\u20ac'.repeat(700), 'too-long');
});

test('trust domain length limit is 255 bytes', () => {
  ok(`spiffe://${'a'.repeat(255)}/x`);
  rejects(`spiffe://${'a'.repeat(256)}/x`, 'too-long', /trust domain is 256 bytes/);
});

test('isInTrustDomain compares exactly', () => {
  const id = ok('spiffe://example.org/a');
  assert.equal(isInTrustDomain(id, 'example.org'), true);
  assert.equal(isInTrustDomain(id, 'Example.org'), false);
  assert.equal(isInTrustDomain(id, 'other.org'), false);
  assert.equal(isInTrustDomain(id, 'sub.example.org'), false);
  assert.equal(isInTrustDomain(ok('spiffe://sub.example.org'), 'example.org'), false);
});

test('trustDomainId', () => {
  assert.equal(trustDomainId('example.org'), 'spiffe://example.org');
  assert.deepEqual(ok(trustDomainId('example.org')), { trustDomain: 'example.org', path: '', uri: 'spiffe://example.org' });
  for (const bad of ['', 'Example.org', 'example.org/a', 'example.org:443', 'a'.repeat(256), 'spiffe://example.org']) {
    assert.throws(() => trustDomainId(bad), TypeError, bad);
  }
});

test('agrees with a reference regular expression on random input, and never throws', () => {
  const reference = (s: string): boolean =>
    Buffer.byteLength(s) <= 2048 &&
    /^spiffe:\/\/[a-z0-9._-]{1,255}(\/[A-Za-z0-9._-]+)*$/.test(s) &&
    !/\/\.\.?(\/|$)/.test(s.slice('spiffe://'.length));
  const pieces = ['spiffe://', 'SPIFFE://', 'a', 'Z', '0', '.', '..', '-', '_', '/', '//', '?', '#', '%', ':', '@', ' ', 'é', 'x.org'];
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let accepted = 0;
  for (let k = 0; k < 20000; k++) {
    let s = rand(4) === 0 ? '' : 'spiffe://';
    const parts = rand(8);
    for (let j = 0; j < parts; j++) s += pieces[rand(pieces.length)];
    const r = parseSpiffeId(s);
    assert.equal(r.ok, reference(s), JSON.stringify(s));
    if (r.ok) {
      accepted++;
      assert.equal(r.id.uri, s);
      assert.equal(`spiffe://${r.id.trustDomain}${r.id.path}`, s);
    }
  }
  assert.ok(accepted > 100, `only ${accepted} random IDs were valid; the generator is too narrow`);
});

test('non-string input does not throw', () => {
  assert.equal(parseSpiffeId(undefined as unknown as string).ok, false);
  assert.equal(parseSpiffeId(null as unknown as string).ok, false);
});
