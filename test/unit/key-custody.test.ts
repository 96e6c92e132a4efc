// The file signer and what start-up decides about the issuing key: an encrypted key opens only
// with its passphrase; production refuses a plain key file unless ca.allowUnencryptedKey says
// otherwise; the embedded mode only warns; a CA close to its end is warned about.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { join } from 'node:path';
import { initCa } from '../../src/ca/ceremony.js';
import { openFileSigner } from '../../src/ca/file-signer.js';
import { checkCaAtStart } from '../../src/server/ca-start.js';
import type { Config } from '../../src/config/config.js';
import { ecdsaSignatureDer } from '../../src/pki/signer.js';
import { scratchDir } from '../support/scratch.js';

const dir = scratchDir('custody-');

async function ca(name: string, opts: { passphrase?: string; issuingDays?: number } = {}) {
  const r = await initCa(join(dir, name), { trustDomain: 'example.org', ...opts });
  assert.ok(r.ok);
  return r.paths;
}

const config = (paths: { rootCert: string; issuingCert: string; issuingKey: string }, ca: Partial<Config['ca']> = {}): Config =>
  ({ ca: { ...paths, signer: 'file', allowUnencryptedKey: false, pkcs11: null, ...ca } }) as unknown as Config;

test('an encrypted key file opens with its passphrase only, and signs synchronously', async () => {
  const paths = await ca('encrypted', { passphrase: 'correct horse' });
  const { signer, encrypted } = openFileSigner({ ...paths, passphrase: 'correct horse' });
  assert.equal(encrypted, true);
  const data = Buffer.from('to be signed');
  const signature = signer.sign(data);
  assert.ok(Buffer.isBuffer(signature), 'a key in memory answers without a promise');
  assert.ok(verify('sha256', data, { key: new X509Certificate(signer.certificateDer).publicKey, dsaEncoding: 'der' }, signature));
  assert.throws(() => openFileSigner({ ...paths, passphrase: 'wrong' }), /wrong passphrase/);
  assert.throws(() => openFileSigner(paths), /is encrypted: set ca\.passphraseFile/);
});

test('production refuses an unencrypted issuing key unless allowed; embedded and encrypted start', async () => {
  const plain = await ca('plain');
  assert.throws(() => checkCaAtStart(config(plain), true), /not encrypted: production mode needs an encrypted key .* ca\.allowUnencryptedKey/);
  assert.match(checkCaAtStart(config(plain, { allowUnencryptedKey: true }), true).join('\n'), /allowed by ca\.allowUnencryptedKey/);
  assert.match(checkCaAtStart(config(plain), false).join('\n'), /not encrypted: fine for development/);
  const encrypted = await ca('enc2', { passphrase: 'p' });
  assert.deepEqual(checkCaAtStart(config(encrypted, { passphrase: 'p' }), true), []);
});

test('start-up warns when the issuing CA has fewer than 30 days left, and when it has expired', async () => {
  const short = await ca('short', { passphrase: 'p', issuingDays: 10 });
  const cfg = config(short, { passphrase: 'p' });
  assert.match(checkCaAtStart(cfg, true).join('\n'), /expires in (9\.9|10\.0) days/);
  assert.match(checkCaAtStart(cfg, true, Date.now() + 11 * 86_400_000).join('\n'), /expired at .* every issuance is refused \(ca-unavailable\)/);
  const long = await ca('long', { passphrase: 'p', issuingDays: 31 });
  assert.deepEqual(checkCaAtStart(config(long, { passphrase: 'p' }), true), []);
});

test('a raw r || s signature becomes the DER a certificate carries', () => {
  const r = Buffer.alloc(32, 0);
  r[31] = 1; // leading zeros are dropped
  const s = Buffer.alloc(32, 0xff); // a high bit gets a zero byte in front
  assert.equal(ecdsaSignatureDer(Buffer.concat([r, s])).toString('hex'), `3026020101022100${'ff'.repeat(32)}`);
  assert.throws(() => ecdsaSignatureDer(Buffer.alloc(63)), /not r \|\| s/);
});
