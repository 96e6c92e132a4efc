// The revocations one serving process enforces, in memory. Every place that authenticates a
// client with a certificate from this CA asks `isRevoked` on every request: a Map lookup, never a
// database round trip, so the check costs nothing measurable on the renewal path.

/** A revoked certificate as this module knows it: which issuer, which serial, until when it matters. */
export interface Revoked {
  /** Hex of the issuing key's identifier (the Issuer's `issuerKeyId`). */
  readonly issuerKeyId: string;
  /** Hex of the serial; any case, with or without a leading zero nibble. */
  readonly serial: string;
  /** When the certificate expires (ms since the epoch); null when not known. */
  readonly notAfter: number | null;
}

/** What protocol code may ask. */
export interface RevocationCheck {
  isRevoked(issuerKeyId: string, serial: string): boolean;
}

/**
 * Serials are compared as the ledger stores them: lower-case hex of the INTEGER's content octets.
 * node:crypto may print one without the leading zero nibble, so both forms meet here.
 */
export const normalizeSerial = (hex: string): string => (hex.length % 2 ? `0${hex}` : hex).toLowerCase();

const keyOf = (issuerKeyId: string, serial: string): string => `${issuerKeyId.toLowerCase()}/${normalizeSerial(serial)}`;

export class RevocationSet implements RevocationCheck {
  /** key -> notAfter (null: unknown, kept until a reconcile learns it). */
  private readonly entries = new Map<string, number | null>();

  isRevoked(issuerKeyId: string, serial: string): boolean {
    return this.entries.has(keyOf(issuerKeyId, serial));
  }

  add(r: Revoked): void {
    this.entries.set(keyOf(r.issuerKeyId, r.serial), r.notAfter);
  }

  /**
   * A reconcile: `live` is every unexpired revocation the database holds. Entries it lacks are
   * added; none is removed unless expired, because a revocation is final and one published after
   * the list was read must not be undone by it.
   */
  merge(live: readonly Revoked[], now: number): void {
    for (const r of live) this.add(r);
    for (const [key, notAfter] of this.entries) if (notAfter !== null && notAfter < now) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Revocations arrive over Redis and IPC as JSON: only a well-formed one is believed. */
export function parseRevoked(value: unknown): { ok: true; revoked: Revoked } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'not an object' };
  const v = value as Record<string, unknown>;
  if (typeof v.issuerKeyId !== 'string' || !/^[0-9a-f]{2,128}$/i.test(v.issuerKeyId)) return { ok: false, reason: 'issuerKeyId is not hex' };
  if (typeof v.serial !== 'string' || !/^[0-9a-f]{1,64}$/i.test(v.serial)) return { ok: false, reason: 'serial is not hex' };
  if (v.notAfter !== null && (typeof v.notAfter !== 'number' || !Number.isFinite(v.notAfter))) return { ok: false, reason: 'notAfter is not a time' };
  return { ok: true, revoked: { issuerKeyId: v.issuerKeyId, serial: v.serial, notAfter: v.notAfter } };
}
