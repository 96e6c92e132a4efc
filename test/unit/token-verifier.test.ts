// The bearer-token check without a server: the signature is verified with node:crypto and the
// claims by jose, so each check a token can fail is tried here once, with a real key and JWKS.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { TokenVerifier } from '../../src/http/auth/token-verifier.js';

const ISS = 'https://issuer.test';
const dir = mkdtempSync(join(tmpdir(), 'wlca-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const jwksFile = join(dir, 'jwks.json');
writeFileSync(
  jwksFile,
  JSON.stringify({
    keys: [
      { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    ],
  }),
);
const verifier = new TokenVerifier([{ issuer: ISS, audiences: ['workload-ca'], jwksFile, maxTokenLifetimeSeconds: 3600 }]);

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

function token(opts: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: KeyObject; alg?: 'ES256' | 'RS256' } = {}): string {
  const alg = opts.alg ?? 'ES256';
  const header = { alg, kid: alg === 'ES256' ? 'ec-1' : 'rsa-1', typ: 'JWT', ...opts.header };
  const claims = { iss: ISS, aud: 'workload-ca', sub: 'system:serviceaccount:ns:sa', iat: now(), exp: now() + 600, ...opts.claims };
  const input = `${b64(header)}.${b64(claims)}`;
  const key = opts.key ?? (alg === 'ES256' ? ec.privateKey : rsa.privateKey);
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

async function refusal(t: string): Promise<string> {
  const r = await verifier.verify(t);
  assert.equal(r.ok, false, 'refused');
  return r.ok ? '' : r.reason;
}

describe('bearer tokens', () => {
  test('ES256 and RS256 tokens from the issuer are accepted, and name their subject', async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const r = await verifier.verify(token({ alg }));
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.requester.subject, 'system:serviceaccount:ns:sa');
    }
  });

  test('a token without a kid verifies against whichever of the fitting keys signed it', async () => {
    const second = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const file = join(dir, 'two-keys.json');
    const jwk = (k: KeyObject) => ({ ...k.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' });
    writeFileSync(file, JSON.stringify({ keys: [jwk(ec.publicKey), jwk(second.publicKey)] }));
    const v = new TokenVerifier([{ issuer: ISS, audiences: ['workload-ca'], jwksFile: file, maxTokenLifetimeSeconds: 3600 }]);
    assert.ok((await v.verify(token({ header: { kid: undefined }, key: second.privateKey }))).ok);
    assert.ok((await v.verify(token({ header: { kid: undefined } }))).ok);
    assert.equal((await v.verify(token({ header: { kid: undefined }, key: stranger.privateKey }))).ok, false);
  });

  test('the signature: another key, a changed payload, a key of the wrong type, or alg none / HS256 are refused', async () => {
    assert.match(await refusal(token({ key: stranger.privateKey })), /signature does not verify/);
    const good = token({ claims: { sub: 'a' } }).split('.');
    assert.match(await refusal(`${good[0]}.${b64({ iss: ISS, aud: 'workload-ca', sub: 'b', exp: now() + 60 })}.${good[2]}`), /signature/);
    // An RS256 header naming the EC key: jose finds no RSA key under that kid.
    assert.match(await refusal(token({ alg: 'RS256', header: { kid: 'ec-1' } })), /no key|not/);
    assert.match(
      await refusal(`${b64({ alg: 'none' })}.${b64({ iss: ISS, aud: 'workload-ca', sub: 'x', exp: now() + 60 })}.`),
      /algorithm is not allowed/,
    );
    assert.match(await refusal(token({ header: { alg: 'HS256' } })), /algorithm is not allowed/);
    assert.match(await refusal(token({ header: { crit: ['exp'], exp: 1 } })), /crit/);
    assert.match(await refusal(`${token()}.x`), /not a JWT|three parts/);
  });

  test('the claims: issuer, audience, expiry, not-before, subject, and the lifetime cap', async () => {
    assert.match(await refusal(token({ claims: { aud: 'someone-else' } })), /"aud"/);
    assert.match(await refusal(token({ claims: { exp: now() - 120 } })), /expired/);
    assert.match(await refusal(token({ claims: { nbf: now() + 600, exp: now() + 1200 } })), /"nbf"/);
    assert.match(await refusal(token({ claims: { sub: undefined } })), /"sub"/);
    assert.match(await refusal(token({ claims: { iat: 'yesterday' } })), /"iat"/);
    assert.match(await refusal(token({ claims: { exp: now() + 7200 } })), /exceeds this issuer's maximum/);
    assert.match(await refusal(token({ claims: { iss: 'https://other.test' } })), /not trusted/);
  });
});
