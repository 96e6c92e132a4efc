// AcmeStore on PostgreSQL (pg in production, PGlite in the embedded mode): the same SQL for both.

import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { RevocationRequest, RevocationResult, RevocationTarget } from '../../revocation/event.js';
import type { SqlClient } from '../../ledger/sql.js';
import type {
  AcmeCertificate,
  AcmeStore,
  Account,
  Authorization,
  Challenge,
  CreateAccountResult,
  EabKey,
  LedgerCertificate,
  NewAuthorization,
  Order,
  StoredProblem,
} from './store.js';

type Row = Record<string, unknown>;
type Tx = Pick<SqlClient, 'query'>;

/** pg hands timestamps back as strings or Dates depending on its type parsers; PGlite as Dates. */
const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : new Date(String(v)).getTime());
const msOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : ms(v));
/** Timestamps go in as epoch milliseconds. */
const TS = (n: number): string => `to_timestamp($${n}::double precision / 1000)`;
const UNIQUE_VIOLATION = '23505';

export class SqlAcmeStore implements AcmeStore {
  constructor(private readonly db: SqlClient) {}

  async createEabKey(key: EabKey): Promise<void> {
    await this.db.query('INSERT INTO acme_eab_keys (key_id, hmac_key, binding) VALUES ($1, $2, $3)', [
      key.keyId,
      Buffer.from(key.hmacKey, 'base64url'),
      key.binding,
    ]);
  }

  async eabKey(keyId: string): Promise<EabKey | null> {
    const { rows } = await this.db.query<Row>('SELECT key_id, hmac_key, binding, revoked_at FROM acme_eab_keys WHERE key_id = $1', [keyId]);
    const r = rows[0];
    if (!r) return null;
    return {
      keyId: String(r.key_id),
      hmacKey: Buffer.from(r.hmac_key as Uint8Array).toString('base64url'),
      binding: String(r.binding),
      revoked: r.revoked_at !== null,
    };
  }

  async revokeEabKey(keyId: string): Promise<boolean> {
    const { rows } = await this.db.query<Row>(
      'UPDATE acme_eab_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 RETURNING key_id',
      [keyId],
    );
    return rows.length === 1;
  }

  async revokeAccountsOfEabKey(keyId: string): Promise<string[]> {
    const { rows } = await this.db.query<Row>(`UPDATE acme_accounts SET status = 'revoked' WHERE eab_key_id = $1 AND status = 'valid' RETURNING id`, [
      keyId,
    ]);
    return rows.map((r) => String(r.id)).sort();
  }

  async createAccount(a: Omit<Account, 'createdAt' | 'status'>): Promise<CreateAccountResult> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO acme_accounts (id, key_thumbprint, jwk, status, contact, binding, eab_key_id)
       VALUES ($1, $2, $3::jsonb, 'valid', $4::jsonb, $5, $6)
       ON CONFLICT (key_thumbprint) DO NOTHING
       RETURNING *`,
      [a.id, a.thumbprint, JSON.stringify(a.jwk), JSON.stringify(a.contact), a.binding, a.eabKeyId],
    );
    if (rows[0]) return { created: true, account: account(rows[0]) };
    const existing = await this.accountByThumbprint(a.thumbprint);
    if (!existing) throw new Error('account key conflict without an account holding it');
    return { created: false, account: existing };
  }

  async accountById(id: string): Promise<Account | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM acme_accounts WHERE id = $1', [id]);
    return rows[0] ? account(rows[0]) : null;
  }

  async accountByThumbprint(thumbprint: string): Promise<Account | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM acme_accounts WHERE key_thumbprint = $1', [thumbprint]);
    return rows[0] ? account(rows[0]) : null;
  }

  async updateContact(id: string, contact: readonly string[]): Promise<Account | null> {
    const { rows } = await this.db.query<Row>(`UPDATE acme_accounts SET contact = $2::jsonb WHERE id = $1 AND status = 'valid' RETURNING *`, [
      id,
      JSON.stringify(contact),
    ]);
    return rows[0] ? account(rows[0]) : this.accountById(id);
  }

  async deactivateAccount(id: string): Promise<Account | null> {
    await this.db.query(`UPDATE acme_accounts SET status = 'deactivated' WHERE id = $1 AND status = 'valid'`, [id]);
    return this.accountById(id);
  }

  async changeKey(id: string, oldThumbprint: string, jwk: JWK, thumbprint: string): Promise<{ ok: true } | { ok: false; conflict: string | null }> {
    try {
      const { rows } = await this.db.query<Row>(
        `UPDATE acme_accounts SET jwk = $3::jsonb, key_thumbprint = $4
         WHERE id = $1 AND key_thumbprint = $2 AND status = 'valid' RETURNING id`,
        [id, oldThumbprint, JSON.stringify(jwk), thumbprint],
      );
      return rows[0] ? { ok: true } : { ok: false, conflict: null };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      const holder = await this.accountByThumbprint(thumbprint);
      return { ok: false, conflict: holder?.id ?? null };
    }
  }

  async createOrder(o: {
    id: string;
    accountId: string;
    identifiers: readonly string[];
    expiresAt: number;
    reuseUntil: number;
    fresh: readonly NewAuthorization[];
  }): Promise<Order> {
    // One statement, one round trip: pick reusable authorizations, create the missing ones with
    // their challenges, and the order naming them in identifier order.
    const { rows } = await this.db.query<Row>(
      `WITH reuse AS (
         SELECT DISTINCT ON (identifier) id, identifier, expires_at FROM acme_authorizations
         WHERE account_id = $1 AND identifier = ANY($2::text[]) AND status = 'valid' AND expires_at > ${TS(3)}
         ORDER BY identifier, expires_at DESC),
       fresh AS (
         SELECT f.id, f.identifier, f.challenges FROM jsonb_to_recordset($4::jsonb) AS f(id text, identifier text, challenges jsonb)
         WHERE f.identifier NOT IN (SELECT identifier FROM reuse)),
       new_authz AS (
         INSERT INTO acme_authorizations (id, account_id, identifier, status, expires_at)
         SELECT id, $1, identifier, 'pending', ${TS(5)} FROM fresh RETURNING id, identifier, expires_at),
       new_challenges AS (
         INSERT INTO acme_challenges (id, authorization_id, type, token, status)
         SELECT c.id, f.id, c.type, c.token, 'pending' FROM fresh f, jsonb_to_recordset(f.challenges) AS c(id text, type text, token text)),
       chosen AS (
         SELECT identifier, id, 'valid' AS status, expires_at FROM reuse
         UNION ALL SELECT identifier, id, 'pending', expires_at FROM new_authz),
       new_order AS (
         INSERT INTO acme_orders (id, account_id, status, identifiers, authorization_ids, expires_at)
         SELECT $6, $1, 'pending', $2::text[], array_agg(id ORDER BY array_position($2::text[], identifier)), ${TS(7)} FROM chosen)
       SELECT identifier, id, status, expires_at FROM chosen`,
      [
        o.accountId,
        o.identifiers,
        o.reuseUntil,
        JSON.stringify(o.fresh.map((f) => ({ id: f.id, identifier: f.identifier, challenges: f.challenges }))),
        o.fresh[0]?.expiresAt ?? o.expiresAt,
        o.id,
        o.expiresAt,
      ],
    );
    const byIdentifier = new Map(rows.map((r) => [String(r.identifier), r]));
    const chosen = o.identifiers.map((i) => byIdentifier.get(i)!);
    return {
      id: o.id,
      accountId: o.accountId,
      status: 'pending',
      identifiers: o.identifiers,
      authorizationIds: chosen.map((r) => String(r.id)),
      expiresAt: o.expiresAt,
      error: null,
      certificateSerial: null,
      processingSince: null,
      authorizations: chosen.map((r) => ({ status: r.status as Authorization['status'], expiresAt: ms(r.expires_at) })),
    };
  }

  order(id: string): Promise<Order | null> {
    return readOrder(this.db, id);
  }

  async ordersOfAccount(accountId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id FROM acme_orders WHERE account_id = $1 AND status IN ('pending', 'processing')
       ORDER BY created_at DESC LIMIT $2`,
      [accountId, limit],
    );
    return rows.map((r) => String(r.id));
  }

  authorization(id: string): Promise<Authorization | null> {
    return readAuthorization(this.db, id);
  }

  async deactivateAuthorization(id: string): Promise<Authorization | null> {
    await this.db.query(`UPDATE acme_authorizations SET status = 'deactivated' WHERE id = $1 AND status IN ('pending', 'valid')`, [id]);
    return readAuthorization(this.db, id);
  }

  async challenge(id: string): Promise<{ challenge: Challenge; authorization: Authorization } | null> {
    const authorization = await readAuthorization(this.db, id, 'challenge');
    const challenge = authorization?.challenges.find((c) => c.id === id);
    return authorization && challenge ? { challenge, authorization } : null;
  }

  async startValidation(challengeId: string, staleBefore: number): Promise<boolean> {
    const { rows } = await this.db.query<Row>(
      `UPDATE acme_challenges c SET status = 'processing', started_at = now()
       FROM acme_authorizations a
       WHERE c.id = $1 AND a.id = c.authorization_id AND a.status = 'pending' AND a.expires_at > now()
         AND (c.status = 'pending' OR (c.status = 'processing' AND c.started_at < ${TS(2)}))
       RETURNING c.id`,
      [challengeId, staleBefore],
    );
    return rows.length === 1;
  }

  async finishValidation(challengeId: string, outcome: { valid: true; validUntil: number } | { valid: false; error: StoredProblem }): Promise<void> {
    // The challenge and its authorization move together, in one statement.
    await this.db.query(
      `WITH done AS (
         UPDATE acme_challenges SET status = $2, validated_at = CASE WHEN $2 = 'valid' THEN now() END, error = $3::jsonb
         WHERE id = $1 AND status = 'processing' RETURNING authorization_id)
       UPDATE acme_authorizations a SET status = $2,
         expires_at = CASE WHEN $2 = 'valid' THEN ${TS(4)} ELSE a.expires_at END
       FROM done WHERE a.id = done.authorization_id AND a.status = 'pending'`,
      [
        challengeId,
        outcome.valid ? 'valid' : 'invalid',
        outcome.valid ? null : JSON.stringify(outcome.error),
        outcome.valid ? outcome.validUntil : 0,
      ],
    );
  }

  async beginFinalize(orderId: string, now: number): Promise<boolean> {
    const { rows } = await this.db.query<Row>(
      `UPDATE acme_orders o SET status = 'processing', processing_since = ${TS(2)}
       WHERE o.id = $1 AND o.status = 'pending' AND o.expires_at > ${TS(2)}
         AND NOT EXISTS (
           SELECT 1 FROM acme_authorizations a
           WHERE a.id = ANY(o.authorization_ids) AND (a.status <> 'valid' OR a.expires_at <= ${TS(2)}))
       RETURNING o.id`,
      [orderId, now],
    );
    return rows.length === 1;
  }

  async abortFinalize(orderId: string): Promise<void> {
    await this.db.query(`UPDATE acme_orders SET status = 'pending', processing_since = NULL WHERE id = $1 AND status = 'processing'`, [orderId]);
  }

  async completeFinalize(c: AcmeCertificate, staleBefore?: number): Promise<boolean> {
    // staleBefore arrives as null rather than undefined when the call crossed IPC.
    const { rows } = await this.db.query<Row>(
      `WITH done AS (
         UPDATE acme_orders SET status = 'valid', certificate_serial = $1
         WHERE id = $2 AND status = 'processing' AND ($8::double precision IS NULL OR processing_since < ${TS(8)})
         RETURNING id)
       INSERT INTO acme_certificates (serial, order_id, account_id, chain_pem, identifiers, not_before, not_after)
       SELECT $1, done.id, $3, $4, $5::text[], ${TS(6)}, ${TS(7)} FROM done
       RETURNING serial`,
      [c.serial, c.orderId, c.accountId, c.chainPem, c.identifiers, c.notBefore, c.notAfter, staleBefore ?? null],
    );
    return rows.length === 1;
  }

  async ledgerCertificateOfOrder(orderId: string, accountId: string): Promise<LedgerCertificate | null> {
    // The expression index certificates_acme_order serves this; the account check is belt and braces.
    const { rows } = await this.db.query<Row>(
      `SELECT serial, issuer_key_id, encode(certificate, 'base64') AS der, not_before, not_after FROM certificates
       WHERE path = 'acme' AND requester->>'orderId' = $1 AND requester->>'accountId' = $2
       ORDER BY issued_at LIMIT 1`,
      [orderId, accountId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      serial: String(r.serial),
      issuerKeyId: String(r.issuer_key_id),
      // encode() wraps base64 at 76 characters.
      derBase64: String(r.der).replace(/\s+/g, ''),
      notBefore: ms(r.not_before),
      notAfter: ms(r.not_after),
    };
  }

  async resetStaleFinalize(orderId: string, staleBefore: number): Promise<boolean> {
    const { rows } = await this.db.query<Row>(
      `UPDATE acme_orders o SET status = 'pending', processing_since = NULL
       WHERE o.id = $1 AND o.status = 'processing' AND o.processing_since < ${TS(2)}
         AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.path = 'acme' AND c.requester->>'orderId' = o.id)
       RETURNING o.id`,
      [orderId, staleBefore],
    );
    return rows.length === 1;
  }

  async certificate(serial: string): Promise<AcmeCertificate | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM acme_certificates WHERE serial = $1', [serial]);
    const r = rows[0];
    if (!r) return null;
    return {
      serial: String(r.serial),
      orderId: String(r.order_id),
      accountId: String(r.account_id),
      chainPem: String(r.chain_pem),
      identifiers: r.identifiers as string[],
      notBefore: ms(r.not_before),
      notAfter: ms(r.not_after),
    };
  }

  async accountHoldsAuthorizations(accountId: string, identifiers: readonly string[], now: number): Promise<boolean> {
    const { rows } = await this.db.query<Row>(
      `SELECT count(DISTINCT identifier)::int AS n FROM acme_authorizations
       WHERE account_id = $1 AND identifier = ANY($2::text[]) AND status = 'valid' AND expires_at > ${TS(3)}`,
      [accountId, identifiers, now],
    );
    return Number(rows[0]?.n ?? 0) === new Set(identifiers).size;
  }

  async revoke(r: RevocationRequest): Promise<RevocationResult> {
    const unique = new Map(r.targets.map((t) => [`${t.issuerKeyId}/${t.serial}`, t]));
    const eventId = randomUUID();
    // Data-modifying CTEs all run, in one statement and one transaction: the event exists exactly
    // when at least one row was inserted, and counts those rows.
    const { rows } = await this.db.query<Row>(
      `WITH ins AS (
         INSERT INTO revocations (issuer_key_id, serial, reason, revoked_by, event_id)
         SELECT t.issuer_key_id, t.serial, $2, $3::jsonb, $4::uuid
         FROM jsonb_to_recordset($1::jsonb) AS t(issuer_key_id text, serial text)
         ON CONFLICT DO NOTHING RETURNING issuer_key_id, serial),
       ev AS (
         INSERT INTO revocation_events (event_id, reason, revoked_by, selector, certificate_count)
         SELECT $4::uuid, $2, $3::jsonb, $5::jsonb, count(*) FROM ins HAVING count(*) > 0)
       SELECT issuer_key_id, serial FROM ins`,
      [
        JSON.stringify([...unique.values()].map((t) => ({ issuer_key_id: t.issuerKeyId, serial: t.serial }))),
        r.reason,
        JSON.stringify(r.revokedBy),
        eventId,
        JSON.stringify(r.selector),
      ],
    );
    const revoked: RevocationTarget[] = rows.map((row) => unique.get(`${String(row.issuer_key_id)}/${String(row.serial)}`)!);
    return { eventId: revoked.length > 0 ? eventId : null, revoked };
  }

  async revocation(issuerKeyId: string, serial: string): Promise<{ reason: number; revokedAt: number } | null> {
    const { rows } = await this.db.query<Row>('SELECT reason, revoked_at FROM revocations WHERE issuer_key_id = $1 AND serial = $2', [
      issuerKeyId,
      serial,
    ]);
    return rows[0] ? { reason: Number(rows[0].reason), revokedAt: ms(rows[0].revoked_at) } : null;
  }
}

async function readOrder(db: Tx, id: string): Promise<Order | null> {
  const { rows } = await db.query<Row>(
    `SELECT o.*, (
       SELECT coalesce(json_agg(json_build_object('status', a.status, 'expiresAt', a.expires_at)), '[]'::json)
       FROM acme_authorizations a WHERE a.id = ANY(o.authorization_ids)) AS authz
     FROM acme_orders o WHERE o.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  const authz = (typeof r.authz === 'string' ? JSON.parse(r.authz) : r.authz) as { status: Authorization['status']; expiresAt: string }[];
  return {
    id: String(r.id),
    accountId: String(r.account_id),
    status: r.status as Order['status'],
    identifiers: r.identifiers as string[],
    authorizationIds: r.authorization_ids as string[],
    expiresAt: ms(r.expires_at),
    error: (r.error as StoredProblem | null) ?? null,
    certificateSerial: (r.certificate_serial as string | null) ?? null,
    processingSince: msOrNull(r.processing_since),
    authorizations: authz.map((a) => ({ status: a.status, expiresAt: ms(a.expiresAt) })),
  };
}

/** An authorization with its challenges, by its own id or by the id of one of its challenges. */
async function readAuthorization(db: Tx, id: string, by: 'authorization' | 'challenge' = 'authorization'): Promise<Authorization | null> {
  const where = by === 'authorization' ? 'a.id = $1' : 'a.id = (SELECT authorization_id FROM acme_challenges WHERE id = $1)';
  const { rows } = await db.query<Row>(
    `SELECT a.id, a.account_id, a.identifier, a.status, a.expires_at,
            c.id AS c_id, c.type, c.token, c.status AS c_status, c.started_at, c.validated_at, c.error
     FROM acme_authorizations a JOIN acme_challenges c ON c.authorization_id = a.id
     WHERE ${where} ORDER BY c.type`,
    [id],
  );
  const first = rows[0];
  if (!first) return null;
  const challenges: Challenge[] = rows.map((r) => ({
    id: String(r.c_id),
    authorizationId: String(first.id),
    type: r.type as Challenge['type'],
    token: String(r.token),
    status: r.c_status as Challenge['status'],
    startedAt: msOrNull(r.started_at),
    validatedAt: msOrNull(r.validated_at),
    error: (r.error as StoredProblem | null) ?? null,
  }));
  return {
    id: String(first.id),
    accountId: String(first.account_id),
    identifier: String(first.identifier),
    status: first.status as Authorization['status'],
    expiresAt: ms(first.expires_at),
    challenges,
  };
}

function account(r: Row): Account {
  return {
    id: String(r.id),
    thumbprint: String(r.key_thumbprint),
    jwk: r.jwk as JWK,
    status: r.status as Account['status'],
    contact: r.contact as string[],
    binding: (r.binding as string | null) ?? null,
    eabKeyId: (r.eab_key_id as string | null) ?? null,
    createdAt: ms(r.created_at),
  };
}
