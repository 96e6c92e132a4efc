// Writes audit events into the ledger in multi-row statements, idempotently: a re-delivered
// event hits ON CONFLICT DO NOTHING, so replays after a crash neither lose nor duplicate rows.

import type { AuditEvent, DeniedEvent, IssuedEvent } from '../audit/event.js';
import type { Requester } from '../policy/types.js';
import type { SqlClient } from './sql.js';

/** A short, indexable name for who asked; the full requester stays in the jsonb column. */
export function requesterId(r: Requester): string {
  switch (r.kind) {
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

const CERT_COLUMNS = 18;
const DENIAL_COLUMNS = 12;

function placeholders(rows: number, columns: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 1; c <= columns; c++) cells.push(`$${r * columns + c}`);
    out.push(`(${cells.join(',')})`);
  }
  return out.join(',');
}

function certificateParams(e: IssuedEvent): unknown[] {
  return [
    e.issuerKeyId, e.serial, e.spiffeId, trustDomainOf(e.spiffeId), e.dnsNames, e.ipAddresses,
    e.notBefore, e.notAfter, e.path, e.requester.kind, requesterId(e.requester), JSON.stringify(e.requester),
    e.rule, e.policyHash, e.csrSha256, Buffer.from(e.certificate, 'base64'), e.id, e.at,
  ];
}

function denialParams(e: DeniedEvent): unknown[] {
  return [
    e.id, e.path, e.requester.kind, requesterId(e.requester), JSON.stringify(e.requester), e.rule, e.code,
    e.reason, e.policyHash, e.csrSha256, e.requestedSpiffeId, e.at,
  ];
}

type Tx = Pick<SqlClient, 'query' | 'exec'>;

/** Writes a batch in one transaction (with `alsoInTx`, if given); resolves after commit. */
export async function writeEvents(db: SqlClient, events: readonly AuditEvent[], alsoInTx?: (tx: Tx) => Promise<void>): Promise<void> {
  const issued = events.filter((e): e is IssuedEvent => e.kind === 'issued');
  const denied = events.filter((e): e is DeniedEvent => e.kind === 'denied');
  // Postgres allows 65535 parameters per statement; stay well under it.
  const chunk = 1000;
  await db.transaction(async (tx) => {
    for (let i = 0; i < issued.length; i += chunk) {
      const part = issued.slice(i, i + chunk);
      await tx.query(
        `INSERT INTO certificates (issuer_key_id, serial, spiffe_id, trust_domain, dns_names, ip_addresses,
           not_before, not_after, path, requester_kind, requester_id, requester, rule, policy_hash, csr_sha256,
           certificate, event_id, issued_at)
         VALUES ${placeholders(part.length, CERT_COLUMNS)}
         ON CONFLICT (issuer_key_id, serial) DO NOTHING`,
        part.flatMap(certificateParams),
      );
    }
    for (let i = 0; i < denied.length; i += chunk) {
      const part = denied.slice(i, i + chunk);
      await tx.query(
        `INSERT INTO denials (event_id, path, requester_kind, requester_id, requester, rule, code, reason,
           policy_hash, csr_sha256, requested_spiffe_id, denied_at)
         VALUES ${placeholders(part.length, DENIAL_COLUMNS)}
         ON CONFLICT (event_id) DO NOTHING`,
        part.flatMap(denialParams),
      );
    }
    await alsoInTx?.(tx);
  });
}
