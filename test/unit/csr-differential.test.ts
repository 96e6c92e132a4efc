// Differential fuzzing of the CSR parser: seeded, bounded inputs go through parseCsr (with the
// proof-of-possession check) and through pkijs, a parser that shares no code with it, and the
// two verdicts are compared. Inputs: random mutations of CSRs that openssl wrote (fixtures/csr),
// and structurally odd requests that are properly signed, so that only the structure is at issue.
//
// Disagreements are expected where this CA is stricter by design (DER only, its key and name
// rules); each kind is listed and explained in fixtures/csr-differential.json. Any other
// disagreement fails the test, above all a CSR this CA accepts and the outside parser refuses,
// and so does any input that makes parseCsr throw instead of answering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCsr, verifyProofOfPossession } from '../../src/pki/csr.js';
import { NULL, OIDS, commonNameOnly, hex, oid, seq, tlv } from '../support/der.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures');
const SEED = 0x5eed_c5a;
const MUTANTS_PER_SEED = 1500;

interface Kind {
  readonly ours: 'accept' | 'reject';
  /** parseCsr's error code, or "bad-signature" when it parsed but the signature did not verify. */
  readonly code: string | null;
  readonly outside: 'accept' | 'reject';
  readonly why: string;
}
const explained = JSON.parse(readFileSync(join(FIXTURES, 'csr-differential.json'), 'utf8')) as { kinds: Kind[] };

/** mulberry32: a small seeded generator, so every run tries the same inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ours(der: Buffer): { verdict: 'accept' | 'reject'; code: string | null } {
  const parsed = parseCsr(der); // must answer, never throw: a throw fails the test
  if (!parsed.ok) return { verdict: 'reject', code: parsed.error.code };
  return verifyProofOfPossession(parsed.csr) ? { verdict: 'accept', code: null } : { verdict: 'reject', code: 'bad-signature' };
}

async function outside(der: Buffer): Promise<'accept' | 'reject'> {
  try {
    const asn = asn1js.fromBER(new Uint8Array(der).buffer);
    if (asn.offset === -1 || asn.offset !== der.length) return 'reject';
    const csr = new pkijs.CertificationRequest({ schema: asn.result });
    return (await csr.verify()) ? 'accept' : 'reject';
  } catch {
    return 'reject';
  }
}

function mutate(input: Buffer, next: () => number): Buffer {
  const b = Buffer.from(input);
  const at = Math.floor(next() * b.length);
  const interesting = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff, 0x30, 0x31, 0xa0, 0x05];
  switch (Math.floor(next() * 8)) {
    case 0:
      b[at] = b[at]! ^ (1 << Math.floor(next() * 8));
      return b;
    case 1:
      b[at] = interesting[Math.floor(next() * interesting.length)]!;
      return b;
    case 2:
      b[at] = Math.floor(next() * 256);
      return b;
    case 3:
      return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(next() * 256)]), b.subarray(at)]);
    case 4:
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    case 5:
      return b.subarray(0, at);
    case 6:
      return Buffer.concat([b, Buffer.from([0x00, 0x00].slice(0, 1 + Math.floor(next() * 2)))]);
    default: {
      const len = 1 + Math.floor(next() * 16);
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    }
  }
}

// --- structurally odd, properly signed requests (the tests' DER writer, not the CA's) ---

const ECDSA_SHA256 = seq(oid(OIDS.ecdsaWithSha256));
const EXT_REQ = oid(OIDS.extensionRequest);
const SAN = oid(OIDS.subjectAltName);
const name = commonNameOnly;
const extReq = (...exts: Buffer[]) => seq(EXT_REQ, tlv(0x31, seq(...exts)));
const sanExt = (...names: Buffer[]) => seq(SAN, tlv(0x04, seq(...names)));

function signed(info: Buffer, key: KeyObject, alg = ECDSA_SHA256): Buffer {
  return seq(info, alg, tlv(0x03, Buffer.from([0]), sign('sha256', info, key)));
}

function oddRequests(): { name: string; der: Buffer }[] {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const info = (attrs: Buffer, opts: { version?: Buffer; subject?: Buffer; key?: Buffer; extra?: Buffer } = {}) =>
    seq(opts.version ?? hex('020100'), opts.subject ?? name('odd'), opts.key ?? spki, tlv(0xa0, attrs), opts.extra ?? Buffer.alloc(0));
  const uri = tlv(0x86, Buffer.from('spiffe://example.org/odd'));
  const good = info(extReq(sanExt(uri)));
  const withLongLength = (der: Buffer) => Buffer.concat([der.subarray(0, 1), Buffer.from([0x81]), der.subarray(1)]); // for lengths < 128
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return [
    { name: 'well-formed', der: signed(good, privateKey) },
    { name: 'non-minimal length on the subject', der: signed(info(extReq(sanExt(uri)), { subject: withLongLength(name('odd')) }), privateKey) },
    { name: 'version 1', der: signed(info(extReq(sanExt(uri)), { version: hex('020101') }), privateKey) },
    { name: 'version with a leading zero', der: signed(info(extReq(sanExt(uri)), { version: hex('02020000') }), privateKey) },
    { name: 'an extra field in the request info', der: signed(info(extReq(sanExt(uri)), { extra: hex('0500') }), privateKey) },
    { name: 'a duplicate SAN extension', der: signed(info(extReq(sanExt(uri), sanExt(uri))), privateKey) },
    { name: 'two extensionRequest attributes', der: signed(info(Buffer.concat([extReq(sanExt(uri)), extReq(sanExt(uri))])), privateKey) },
    { name: 'an empty SAN', der: signed(info(extReq(sanExt())), privateKey) },
    { name: 'an otherName SAN', der: signed(info(extReq(sanExt(tlv(0xa0, hex('06032a0304'), tlv(0xa0, hex('0c0161')))))), privateKey) },
    { name: 'a registeredID SAN', der: signed(info(extReq(sanExt(hex('88032a0304')))), privateKey) },
    { name: 'an IP SAN of 5 bytes', der: signed(info(extReq(sanExt(hex('87050a00000101')))), privateKey) },
    {
      name: '101 DNS SANs',
      der: signed(info(extReq(sanExt(...Array.from({ length: 101 }, (_, i) => tlv(0x82, Buffer.from(`h${i}.example.org`)))))), privateKey),
    },
    { name: 'a signature with unused bits', der: seq(good, ECDSA_SHA256, tlv(0x03, Buffer.from([1]), sign('sha256', good, privateKey))) },
    { name: 'ecdsa-with-SHA256 with NULL parameters', der: signed(good, privateKey, seq(oid(OIDS.ecdsaWithSha256), NULL)) },
    { name: 'a P-384 key', der: signed(info(extReq(sanExt(uri)), { key: p384.publicKey.export({ type: 'spki', format: 'der' }) }), p384.privateKey) },
    {
      name: 'an RSA 1024 key',
      der: seq(
        info(Buffer.alloc(0), { key: rsa1024.publicKey.export({ type: 'spki', format: 'der' }) }),
        seq(oid(OIDS.sha256WithRsa), NULL),
        tlv(
          0x03,
          Buffer.from([0]),
          sign('sha256', info(Buffer.alloc(0), { key: rsa1024.publicKey.export({ type: 'spki', format: 'der' }) }), rsa1024.privateKey),
        ),
      ),
    },
    { name: 'signed by another key', der: signed(good, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey) },
    { name: 'trailing zero after the request', der: Buffer.concat([signed(good, privateKey), hex('00')]) },
    {
      name: 'indefinite length outer SEQUENCE',
      der: (() => {
        const d = signed(good, privateKey);
        const inner = d.subarray(d[1]! & 0x80 ? 2 + (d[1]! & 0x7f) : 2);
        return Buffer.concat([hex('3080'), inner, hex('0000')]);
      })(),
    },
  ];
}

test('parseCsr and pkijs agree on every seeded input, except where the fixture explains why', async (t) => {
  const next = rng(SEED);
  const inputs: { name: string; der: Buffer }[] = [];
  for (const file of readdirSync(join(FIXTURES, 'csr')).sort()) {
    const seedCsr = readFileSync(join(FIXTURES, 'csr', file));
    inputs.push({ name: file, der: seedCsr });
    for (let i = 0; i < MUTANTS_PER_SEED; i++) inputs.push({ name: `${file} mutant ${i}`, der: mutate(seedCsr, next) });
  }
  inputs.push(...oddRequests());

  const seen = new Map<string, { count: number; example: string }>();
  const unexplained: string[] = [];
  let agreed = 0;
  for (const input of inputs) {
    let mine: ReturnType<typeof ours>;
    try {
      mine = ours(input.der);
    } catch (err) {
      assert.fail(`parseCsr threw on ${input.name} (${input.der.toString('hex')}): ${(err as Error).stack}`);
    }
    const theirs = await outside(input.der);
    if (mine.verdict === theirs) {
      agreed++;
      continue;
    }
    const kind = explained.kinds.find((k) => k.ours === mine.verdict && k.code === mine.code && k.outside === theirs);
    const key = `ours ${mine.verdict} (${mine.code}) / pkijs ${theirs}`;
    if (!kind) unexplained.push(`${key}: ${input.name} ${input.der.toString('hex')}`);
    const s = seen.get(key) ?? { count: 0, example: input.name };
    s.count++;
    seen.set(key, s);
  }
  assert.deepEqual(unexplained.slice(0, 5), [], `${unexplained.length} unexplained disagreements: ${JSON.stringify(Object.fromEntries(seen))}`);
  // The seeds themselves and the well-formed odd request are accepted by both: the harness can tell accept from reject.
  for (const file of readdirSync(join(FIXTURES, 'csr'))) {
    const der = readFileSync(join(FIXTURES, 'csr', file));
    assert.equal(ours(der).verdict, 'accept', file);
    assert.equal(await outside(der), 'accept', file);
  }
  assert.ok(agreed > inputs.length / 2, `only ${agreed} of ${inputs.length} agreed`);
  t.diagnostic(`${inputs.length} inputs, ${agreed} agreed; disagreements by kind: ${JSON.stringify(Object.fromEntries(seen))}`);
});
