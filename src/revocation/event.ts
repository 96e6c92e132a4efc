// A revocation event: one decision to revoke (who, why, which selector) and the certificates it
// revoked, written with them in one statement so the ledger never holds one without the other.
// Plain JSON throughout: the store may be reached over IPC.

/** Who took the decision. */
export type RevokedBy =
  /** The ACME account that ordered the certificate, or holds authorizations for all its names. */
  | { readonly kind: 'account'; readonly accountId: string }
  /** Whoever holds the certificate's own private key (ACME revokeCert signed with it). */
  | { readonly kind: 'certificate-key' }
  /**
   * An operator through the admin API (the CLI calls it too). The admin credential is shared, so
   * `requestedBy` is the operator's own word for who asked (a name, a ticket); `client` is the
   * address the request came from.
   */
  | { readonly kind: 'operator'; readonly via: 'admin-api'; readonly requestedBy: string | null; readonly client: string };

/** The kinds of requester the ledger records for issued certificates. */
export const REQUESTER_KINDS = ['token', 'svid', 'acme-account', 'est-client'] as const;
export type RequesterKind = (typeof REQUESTER_KINDS)[number];

/** What names the certificates: exactly one selector per decision. */
export type Selector =
  | { readonly serial: string }
  | { readonly spiffeId: string }
  /** Ends with '/': whole path segments. */
  | { readonly spiffeIdPrefix: string }
  /** Everything one requester obtained, as the ledger names it (`requester_kind`, `requester_id`). */
  | { readonly requester: { readonly kind: RequesterKind; readonly id: string } }
  /** Everything the ACME accounts of one binding obtained. */
  | { readonly eabBinding: string }
  /** Everything the ACME accounts bound with one EAB key obtained. */
  | { readonly eabKeyId: string };

export interface RevocationTarget {
  readonly issuerKeyId: string;
  /** Lower-case hex, as the ledger stores it. */
  readonly serial: string;
  /** The certificate's expiry (ms): how long the revocation must be enforced. Not stored; the ledger has it. */
  readonly notAfter: number;
}

export interface RevocationRequest {
  readonly revokedBy: RevokedBy;
  /** RFC 5280 CRLReason. */
  readonly reason: number;
  readonly selector: Selector;
  readonly targets: readonly RevocationTarget[];
}

export interface RevocationResult {
  /** The event recorded; null when every target was revoked already (nothing was decided). */
  readonly eventId: string | null;
  /** The targets this request revoked; the others were revoked before. */
  readonly revoked: readonly RevocationTarget[];
}
