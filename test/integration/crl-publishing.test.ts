// Two production replicas publishing CRLs against one Postgres: the CRL number only grows however
// they race, one revocation makes one CRL, and a CRL signed by one replica is served by the other.
// (Two publishers with their own pools stand in for two servers: the lock is all they share.)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { initCa } from '../../src/ca/ceremony.js';
import { openFileSigner } from '../../src/ca/file-signer.js';
import { CrlPublisher } from '../../src/ca/crl-publisher.js';
import { signIfDue, type CrlTiming, type SignOutcome } from '../../src/ca/crl-store.js';
import { migrate, readMigrations } from '../../src/ledger/migrate.js';
import { openPostgresLedger } from '../../src/ledger/postgres.js';
import type { SqlClient } from '../../src/ledger/sql.js';
import type { Signer } from '../../src/pki/signer.js';
import { ROOT } from '../support/server.js';
import { createDatabase, type TestDatabase } from '../support/infra.js';
import { eventually } from '../support/eventually.js';
import { scratchDir } from '../support/scratch.js';

const TIMING: CrlTiming = { validitySeconds: 3600, renewBeforeSeconds: 600 };
const dir = scratchDir('crl-pub-');
let db: TestDatabase;
let a: SqlClient;
let b: SqlClient;
let signer: Signer;
let issuerKeyId: string;

before(async () => {
  db = await createDatabase();
  a = openPostgresLedger(db.url(), { max: 2 });
  b = openPostgresLedger(db.url(), { max: 2 });
  await migrate(a, readMigrations(join(ROOT, 'migrations')));
  const made = await initCa(join(dir, 'ca'), { trustDomain: 'example.org' });
  assert.ok(made.ok);
  signer = openFileSigner(made.paths).signer;
  issuerKeyId = signer.keyId.toString('hex');
});

after(async () => {
  await a.close();
  await b.close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const newSerial = () => `7f${randomBytes(15).toString('hex')}`;

async function revoke(serial: string, reason = 1, notAfter?: Date): Promise<void> {
  if (notAfter) {
    await db.query(
      `INSERT INTO certificates (issuer_key_id, serial, spiffe_id, trust_domain, not_before, not_after, path, requester_kind,
         requester_id, requester, rule, policy_hash, csr_sha256, certificate, event_id, issued_at)
       VALUES ($1, $2, 'spiffe://example.org/x', 'example.org', $3, $4, 'est', 'est-client', 'x', '{}', 'r', 'sha256:0', '00', '\\x00', $5, $3)`,
      [issuerKeyId, serial, new Date(notAfter.getTime() - 3600_000), notAfter, randomUUID()],
    );
  }
  await db.query(`INSERT INTO revocations (issuer_key_id, serial, reason, revoked_by) VALUES ($1, $2, $3, '{"kind":"test"}')`, [
    issuerKeyId,
    serial,
    reason,
  ]);
}

const storedNumber = async (): Promise<bigint> =>
  BigInt((await db.query<{ n: string }>('SELECT crl_number AS n FROM crls WHERE issuer_key_id = $1', [issuerKeyId]))[0]!.n);

function listedSerials(der: Buffer): string[] {
  const crl = new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(new Uint8Array(der).buffer).result });
  return (crl.revokedCertificates ?? []).map((r) => Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex'));
}

test('racing replicas never sign the same number twice; a revocation makes exactly one new CRL', async () => {
  const first = await Promise.all([signIfDue(a, signer, TIMING, Date.now()), signIfDue(b, signer, TIMING, Date.now())]);
  assert.equal(
    first.filter((o) => o.kind === 'signed').length,
    1,
    JSON.stringify(first, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
  );
  assert.equal(await storedNumber(), 1n);

  // Forced signing on both at once, over and over: every number is used once, in order.
  const signed: bigint[] = [];
  for (let round = 0; round < 15; round++) {
    const outcomes: SignOutcome[] = await Promise.all([
      signIfDue(a, signer, TIMING, Date.now(), true),
      signIfDue(b, signer, TIMING, Date.now(), true),
    ]);
    for (const o of outcomes) if (o.kind === 'signed') signed.push(o.number);
    assert.ok(outcomes.some((o) => o.kind === 'signed'));
  }
  assert.deepEqual(
    signed,
    signed.map((_, i) => BigInt(i + 2)),
    'numbers 2, 3, 4, … each once',
  );
  assert.equal(await storedNumber(), BigInt(signed.length + 1));

  // Unforced: a new revocation is due once; whoever comes second finds the CRL current.
  const before = await storedNumber();
  await revoke(newSerial());
  const r1 = await signIfDue(a, signer, TIMING, Date.now());
  const r2 = await signIfDue(b, signer, TIMING, Date.now());
  assert.deepEqual([r1.kind, r2.kind], ['signed', 'current']);
  assert.equal(await storedNumber(), before + 1n);
  // Nothing changed and nextUpdate is far: nothing to sign. Close to nextUpdate: signed afresh.
  assert.equal((await signIfDue(b, signer, TIMING, Date.now())).kind, 'current');
  assert.equal((await signIfDue(b, signer, TIMING, Date.now() + (TIMING.validitySeconds - TIMING.renewBeforeSeconds + 1) * 1000)).kind, 'signed');
});

test('a revocation heard on one replica is signed there and served by the other within seconds; expired certificates drop off', async () => {
  const warnings: string[] = [];
  const pub = (client: SqlClient, pollSeconds: number) =>
    CrlPublisher.start({ db: client, signer, timing: TIMING, pollSeconds, info: () => undefined, warn: (m) => void warnings.push(m) });
  const [pa, pb] = await Promise.all([pub(a, 300), pub(b, 1)]);
  try {
    const live = newSerial();
    const unknownExpiry = newSerial();
    const longExpired = newSerial();
    const recentlyExpired = newSerial();
    await revoke(live, 4, new Date(Date.now() + 3600_000));
    await revoke(unknownExpiry, 0);
    await revoke(longExpired, 1, new Date(Date.now() - (TIMING.validitySeconds + 60) * 1000));
    await revoke(recentlyExpired, 1, new Date(Date.now() - 60_000));
    // Started together, one signed the first CRL while the other waited for it.
    await eventually('both hold a CRL', () => pa.current(issuerKeyId) !== null && pb.current(issuerKeyId) !== null, 5_000);
    const had = pb.current(issuerKeyId)!.number;
    pa.poke();
    await eventually(
      'replica B serves the CRL replica A signed',
      async () => (pb.current(issuerKeyId)?.number ?? 0n) > had && listedSerials(pb.current(issuerKeyId)!.der).includes(live),
      5_000,
    );
    const listed = listedSerials(pb.current(issuerKeyId)!.der);
    assert.ok(listed.includes(unknownExpiry), 'a revocation whose certificate the ledger has not recorded yet is listed');
    // RFC 5280 §3.3: listed on at least one CRL after it expired, then dropped.
    assert.ok(listed.includes(recentlyExpired), 'expired within the last validity period: still listed');
    assert.ok(!listed.includes(longExpired), 'expired more than one validity period ago: not listed');
    assert.deepEqual(pa.current(issuerKeyId)!.der, pb.current(issuerKeyId)!.der, 'both serve the same bytes');
    assert.deepEqual(warnings, []);
  } finally {
    await pa.close();
    await pb.close();
  }
});
