// Operator revocation: which ledger certificates a selector names, and revoking them through the
// ACME store, the one place revocations are written (and, wrapped, published to every replica).

import type { AcmeStore } from '../http/acme/store.js';
import type { CertificateSummary, LedgerReader } from '../ledger/inventory.js';
import { normalizeSerial, type RevocationCheck } from './set.js';

export type Selector = { readonly serial: string } | { readonly spiffeId: string } | { readonly spiffeIdPrefix: string };

export interface Target {
  readonly issuerKeyId: string;
  readonly serial: string;
  readonly spiffeId: string;
  readonly notAfter: number;
}

/** RFC 5280 CRLReason values; 7 is unassigned. */
export const REVOCATION_REASONS = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10] as const;

// One page of the inventory at a time: a namespace may hold many thousands of live certificates.
const PAGE = 1000;

const target = (c: Pick<CertificateSummary, 'issuer_key_id' | 'serial' | 'spiffe_id' | 'not_after'>): Target => ({
  issuerKeyId: c.issuer_key_id,
  serial: c.serial,
  spiffeId: c.spiffe_id,
  notAfter: Date.parse(c.not_after),
});

/**
 * Live certificates the selector names that this process does not already know to be revoked.
 * The in-memory set may lag another replica by up to a second; the store's insert is the final
 * word (a second revocation is a no-op), so a certificate selected twice is counted once.
 */
export async function selectTargets(reader: LedgerReader, check: RevocationCheck, selector: Selector, now: number): Promise<Target[]> {
  let found: Target[];
  if ('serial' in selector) {
    found = (await reader.getCertificate(normalizeSerial(selector.serial))).map(target);
  } else {
    found = [];
    const filter = 'spiffeId' in selector ? { spiffeId: selector.spiffeId } : { spiffeIdPrefix: selector.spiffeIdPrefix };
    let cursor: string | null = null;
    do {
      const page = await reader.listCertificates({ ...filter, status: 'live', limit: PAGE, ...(cursor !== null && { cursor }) });
      found.push(...page.items.map(target));
      cursor = page.next_cursor;
    } while (cursor !== null);
  }
  return found.filter((t) => t.notAfter > now && !check.isRevoked(t.issuerKeyId, t.serial));
}

export interface RevokeOutcome {
  readonly target: Target;
  /** False: another revocation got there first. */
  readonly revoked: boolean;
}

export async function revokeTargets(store: AcmeStore, targets: readonly Target[], reason: number, note: string | null): Promise<RevokeOutcome[]> {
  const out: RevokeOutcome[] = [];
  // One at a time: each insert is followed by its publish, and the store may be an IPC proxy.
  for (const t of targets) {
    const revoked = await store.revoke({
      issuerKeyId: t.issuerKeyId,
      serial: t.serial,
      reason,
      notAfter: t.notAfter,
      revokedBy: { kind: 'operator', via: 'admin-api', note },
    });
    out.push({ target: t, revoked });
  }
  return out;
}
