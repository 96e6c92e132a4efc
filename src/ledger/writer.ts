// Writes audit events into the ledger in multi-row statements, idempotently: a re-delivered
// event hits ON CONFLICT DO NOTHING, so replays after a crash neither lose nor duplicate rows.

import type { AuditEvent, DeniedEvent, IssuedEvent, UnverifiedRequester } from '../audit/event.js';
import type { Requester } from '../policy/types.js';
import type { SqlClient } from './sql.js';

/** A short, indexable name for who asked; the full requester stays in the jsonb column. */
export function requesterId(r: Requester | UnverifiedRequester): string {
  switch (r.kind) {
    case 'unverified':
      return `unverified ${r.presented}${r.claimed === null ? '' : `: ${r.claimed}`}`;
    case 'token':
      return `${r.issuer}#${r.subject}`;
    case 'svid':
      return r.spiffeId;
    case 'acme-account':
      return r.binding ? `${r.accountId} (${r.binding})` : r.accountId;
    case 'est-client':
      return r.label ? `${r.name}@${r.label}` : r.name;
  }
}

const trustDomainOf = (spiffeId: string): string => spiffeId.slice('spiffe://'.length).split('/', 1)[0]!;

/**
 * The whole batch travels as one JSON parameter and the database unpacks it
 * (jsonb_to_recordset): one statement per table whatever the batch size, and no per-value
 * parameter encoding, which dominated the cost of the earlier placeholder-per-value form.
 */
const INSERT_CERTIFICATES = `
  INSERT INTO certificates (issuer_key_id, serial, spiffe_id, trust_domain, dns_names, ip_addresses,
    not_before, not_after, path, requester_kind, requester_id, requester, rule, policy_hash, csr_sha256,
    certificate, event_id, issued_at)
  SELECT e."issuerKeyId", e.serial, e."spiffeId", e."trustDomain", e."dnsNames", e."ipAddresses",
    e."notBefore", e."notAfter", e.path, e."requesterKind", e."requesterId", e.requester, e.rule, e."policyHash",
    e."csrSha256", decode(e.certificate, 'base64'), e.id, e.at
  FROM jsonb_to_recordset($1::jsonb) AS e("issuerKeyId" text, serial text, "spiffeId" text, "trustDomain" text,
    "dnsNames" text[], "ipAddresses" text[], "notBefore" timestamptz, "notAfter" timestamptz, path text,
    "requesterKind" text, "requesterId" text, requester jsonb, rule text, "policyHash" text, "csrSha256" text,
    certificate text, id uuid, at timestamptz)
  ON CONFLICT (issuer_key_id, serial) DO NOTHING`;

const INSERT_DENIALS = `
  INSERT INTO denials (event_id, path, requester_kind, requester_id, requester, rule, code, reason,
    policy_hash, csr_sha256, requested_spiffe_id, denied_at, client_address, repeat_count)
  SELECT e.id, e.path, e."requesterKind", e."requesterId", e.requester, e.rule, e.code, e.reason,
    e."policyHash", e."csrSha256", e."requestedSpiffeId", e.at, e.client, coalesce(e.repeats, 1)
  FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, path text, "requesterKind" text, "requesterId" text,
    requester jsonb, rule text, code text, reason text, "policyHash" text, "csrSha256" text,
    "requestedSpiffeId" text, at timestamptz, client text, repeats integer)
  ON CONFLICT (event_id) DO NOTHING`;

/** The event plus the columns derived from it; the JSON keys match the recordset columns above. */
const derived = (e: AuditEvent): object => ({
  ...e,
  requesterKind: e.requester.kind,
  requesterId: requesterId(e.requester),
  ...(e.kind === 'issued' ? { trustDomain: trustDomainOf(e.spiffeId) } : {}),
});

type Tx = Pick<SqlClient, 'query' | 'exec'>;

/**
 * Writes a batch (and `alsoInTx`, if given) atomically; resolves after commit. A batch of one
 * kind is a single statement, which is atomic on its own, so it skips BEGIN/COMMIT round trips.
 */
export async function writeEvents(db: SqlClient, events: readonly AuditEvent[], alsoInTx?: (tx: Tx) => Promise<void>): Promise<void> {
  const issued = events.filter((e): e is IssuedEvent => e.kind === 'issued');
  const denied = events.filter((e): e is DeniedEvent => e.kind === 'denied');
  const statements: [string, AuditEvent[]][] = [];
  if (issued.length > 0) statements.push([INSERT_CERTIFICATES, issued]);
  if (denied.length > 0) statements.push([INSERT_DENIALS, denied]);
  const run = async (tx: Tx): Promise<void> => {
    for (const [sql, rows] of statements) await tx.query(sql, [JSON.stringify(rows.map(derived))]);
  };
  if (statements.length === 1 && !alsoInTx) return run(db);
  if (statements.length === 0 && !alsoInTx) return;
  await db.transaction(async (tx) => {
    await run(tx);
    await alsoInTx?.(tx);
  });
}
