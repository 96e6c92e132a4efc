// Operator revocation: which ledger certificates a selector names, and revoking them through the
// ACME store, the one place revocations are written (and, wrapped, published to every replica),
// as one revocation event.

import type { AcmeStore } from '../http/acme/store.js';
import type { CertificateFilter, CertificateSummary, LedgerReader } from '../ledger/inventory.js';
import type { RevocationTarget, RevokedBy, Selector } from './event.js';
import { normalizeSerial, type RevocationCheck } from './set.js';

export type { Selector } from './event.js';

export interface Target extends RevocationTarget {
  readonly spiffeId: string;
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

/** The inventory filter that lists what a selector names (the serial selector reads one row instead). */
function filterOf(selector: Exclude<Selector, { serial: string }>): Omit<CertificateFilter, 'limit'> {
  if ('spiffeId' in selector) return { spiffeId: selector.spiffeId };
  if ('spiffeIdPrefix' in selector) return { spiffeIdPrefix: selector.spiffeIdPrefix };
  if ('requester' in selector) return { requesterKind: selector.requester.kind, requesterId: selector.requester.id };
  if ('eabBinding' in selector) return { acmeBinding: selector.eabBinding };
  return { eabKeyId: selector.eabKeyId };
}

/**
 * Live certificates (unexpired, not revoked) the selector names that this process does not
 * already know to be revoked. The ledger and the in-memory set may each lag a revocation made a
 * moment ago elsewhere; the store's insert is the final word (a second revocation is a no-op).
 */
export async function selectTargets(reader: LedgerReader, check: RevocationCheck, selector: Selector, now: number): Promise<Target[]> {
  let found: Target[];
  if ('serial' in selector) {
    found = (await reader.getCertificate(normalizeSerial(selector.serial))).filter((c) => c.status === 'live').map(target);
  } else {
    found = [];
    const filter = filterOf(selector);
    let cursor: string | null = null;
    do {
      const page = await reader.listCertificates({ ...filter, status: 'live', limit: PAGE, ...(cursor !== null && { cursor }) });
      found.push(...page.items.map(target));
      cursor = page.next_cursor;
    } while (cursor !== null);
  }
  return found.filter((t) => t.notAfter > now && !check.isRevoked(t.issuerKeyId, t.serial));
}

export interface OperatorRevocation {
  readonly selector: Selector;
  readonly reason: number;
  readonly revokedBy: Extract<RevokedBy, { kind: 'operator' }>;
}

export interface DryRunOutcome {
  readonly dryRun: true;
  readonly revoked: 0;
  readonly wouldRevoke: number;
  readonly serials: string[];
}

export interface RevokeOutcome {
  readonly dryRun: false;
  readonly revoked: number;
  /** Null when nothing was left to revoke: no decision, no event. */
  readonly eventId: string | null;
  readonly serials: string[];
}

interface DecisionLog {
  info(fields: object, message: string): void;
}

interface OperatorDeps {
  readonly store: AcmeStore;
  readonly reader: LedgerReader;
  readonly revocations: RevocationCheck;
  readonly now: number;
}

/** What a revocation would revoke; nothing is written. */
export async function operatorDryRun(deps: Omit<OperatorDeps, 'store'>, r: OperatorRevocation, log: DecisionLog): Promise<DryRunOutcome> {
  const targets = await selectTargets(deps.reader, deps.revocations, r.selector, deps.now);
  log.info(
    { selector: r.selector, reason: r.reason, requestedBy: r.revokedBy.requestedBy, count: targets.length },
    'operator revocation dry run: nothing revoked',
  );
  return { dryRun: true, revoked: 0, wouldRevoke: targets.length, serials: targets.map((t) => t.serial) };
}

/**
 * Selects, then revokes as one event, logging one line per certificate decided. The admin API's
 * revoke and its EAB key revocation both come here.
 */
export async function operatorRevoke(deps: OperatorDeps, r: OperatorRevocation, log: DecisionLog): Promise<RevokeOutcome> {
  const targets = await selectTargets(deps.reader, deps.revocations, r.selector, deps.now);
  const { selector, reason } = r;
  const requestedBy = r.revokedBy.requestedBy;
  if (targets.length === 0) {
    log.info({ selector, reason, requestedBy, count: 0 }, 'operator revocation: no live certificate to revoke');
    return { dryRun: false, revoked: 0, eventId: null, serials: [] };
  }
  const result = await deps.store.revoke({ revokedBy: r.revokedBy, reason, selector, targets });
  const revoked = new Set(result.revoked.map((t) => `${t.issuerKeyId}/${t.serial}`));
  for (const t of targets) {
    const first = revoked.has(`${t.issuerKeyId}/${t.serial}`);
    log.info(
      { serial: t.serial, spiffeId: t.spiffeId, reason, selector, requestedBy, eventId: result.eventId, revoked: first },
      first ? 'certificate revoked by operator' : 'certificate already revoked',
    );
  }
  return { dryRun: false, revoked: result.revoked.length, eventId: result.eventId, serials: result.revoked.map((t) => t.serial) };
}
