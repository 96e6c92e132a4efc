// The revocations a replica must enforce, read from the ledger database: those of certificates
// that have not expired. A revocation whose certificate is not in the ledger yet (the audit
// queue is behind) has no known expiry and is kept.

import type { SqlClient } from '../ledger/sql.js';
import type { Revoked } from './set.js';

export interface RevocationSource {
  list(): Promise<Revoked[]>;
}

const LIVE = `
  SELECT r.issuer_key_id, r.serial, c.not_after
  FROM revocations r
  LEFT JOIN certificates c ON c.issuer_key_id = r.issuer_key_id AND c.serial = r.serial
  WHERE c.not_after IS NULL OR c.not_after > now()`;

export function sqlRevocationSource(db: Pick<SqlClient, 'query'>): RevocationSource {
  return {
    async list() {
      const { rows } = await db.query<{ issuer_key_id: string; serial: string; not_after: unknown }>(LIVE);
      return rows.map((r) => ({
        issuerKeyId: r.issuer_key_id,
        serial: r.serial,
        notAfter: r.not_after === null ? null : r.not_after instanceof Date ? r.not_after.getTime() : Date.parse(String(r.not_after)),
      }));
    },
  };
}
