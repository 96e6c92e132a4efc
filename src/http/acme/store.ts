// What the ACME protocol keeps, and the operations on it. Every operation that changes a status
// is a compare-and-set, so that replicas racing on one order, challenge or certificate cannot
// both succeed. Values are plain JSON (times in epoch milliseconds) because in the embedded mode
// they cross an IPC channel.

import type { JWK } from 'jose';
import type { RevocationRequest, RevocationResult } from '../../revocation/event.js';

export type AccountStatus = 'valid' | 'deactivated' | 'revoked';
export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';
/** What is stored; `ready` and an expired pending order are derived when read (see order-status). */
export type StoredOrderStatus = 'pending' | 'processing' | 'valid' | 'invalid';
export type OrderStatus = StoredOrderStatus | 'ready';
export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';
export const CHALLENGE_TYPES: readonly ChallengeType[] = ['http-01', 'dns-01', 'tls-alpn-01'];

export interface StoredProblem {
  readonly type: string;
  readonly detail: string;
  readonly status: number;
}

export interface Account {
  readonly id: string;
  readonly thumbprint: string;
  readonly jwk: JWK;
  readonly status: AccountStatus;
  readonly contact: readonly string[];
  readonly binding: string | null;
  /** The EAB key that bound the account, if any. */
  readonly eabKeyId: string | null;
  readonly createdAt: number;
}

export interface EabKey {
  readonly keyId: string;
  /** base64url */
  readonly hmacKey: string;
  readonly binding: string;
  readonly revoked: boolean;
}

export interface Challenge {
  readonly id: string;
  readonly authorizationId: string;
  readonly type: ChallengeType;
  readonly token: string;
  readonly status: ChallengeStatus;
  readonly startedAt: number | null;
  readonly validatedAt: number | null;
  readonly error: StoredProblem | null;
}

export interface Authorization {
  readonly id: string;
  readonly accountId: string;
  readonly identifier: string;
  /** As stored; `expired` is derived from expiresAt by the reader. */
  readonly status: Exclude<AuthorizationStatus, 'expired'>;
  readonly expiresAt: number;
  readonly challenges: readonly Challenge[];
}

export interface Order {
  readonly id: string;
  readonly accountId: string;
  readonly status: StoredOrderStatus;
  readonly identifiers: readonly string[];
  readonly authorizationIds: readonly string[];
  readonly expiresAt: number;
  readonly error: StoredProblem | null;
  readonly certificateSerial: string | null;
  /** When finalize moved the order to processing; how a poll tells a dead replica's order from a live one's. */
  readonly processingSince: number | null;
  /** The stored status and expiry of each authorization, for the derived order status. */
  readonly authorizations: readonly { readonly status: Authorization['status']; readonly expiresAt: number }[];
}

export interface AcmeCertificate {
  readonly serial: string;
  readonly orderId: string;
  readonly accountId: string;
  readonly chainPem: string;
  readonly identifiers: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * A certificate the ledger recorded for an order (the Issuer's audit event carries the order id in
 * its requester): what an interrupted finalize leaves behind. DER as base64, to cross IPC.
 */
export interface LedgerCertificate {
  readonly serial: string;
  readonly issuerKeyId: string;
  readonly derBase64: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface NewAuthorization {
  readonly id: string;
  readonly identifier: string;
  readonly expiresAt: number;
  readonly challenges: readonly { readonly id: string; readonly type: ChallengeType; readonly token: string }[];
}

export type CreateAccountResult = { readonly created: true; readonly account: Account } | { readonly created: false; readonly account: Account };

export interface AcmeStore {
  createEabKey(key: EabKey): Promise<void>;
  eabKey(keyId: string): Promise<EabKey | null>;
  /** Stops the key from binding new accounts; false when there is no such key. */
  revokeEabKey(keyId: string): Promise<boolean>;
  /**
   * valid → revoked (RFC 8555 §7.1.6: the server's deactivation) for every account the key bound;
   * the ids of the accounts this call moved.
   */
  revokeAccountsOfEabKey(keyId: string): Promise<string[]>;

  /** Creates the account unless one holds the key already; then returns that one. */
  createAccount(a: Omit<Account, 'createdAt' | 'status'>): Promise<CreateAccountResult>;
  accountById(id: string): Promise<Account | null>;
  accountByThumbprint(thumbprint: string): Promise<Account | null>;
  updateContact(id: string, contact: readonly string[]): Promise<Account | null>;
  /** valid → deactivated; returns the account as it is afterwards, or null if it does not exist. */
  deactivateAccount(id: string): Promise<Account | null>;
  /** Moves the account to a new key; `conflict` names the account already holding it. */
  changeKey(id: string, oldThumbprint: string, jwk: JWK, thumbprint: string): Promise<{ ok: true } | { ok: false; conflict: string | null }>;

  /**
   * Creates an order, reusing the account's valid authorizations that live past `reuseUntil`
   * and creating `fresh` ones for the other identifiers (the caller makes one per identifier;
   * those not needed are dropped).
   */
  createOrder(o: {
    readonly id: string;
    readonly accountId: string;
    readonly identifiers: readonly string[];
    readonly expiresAt: number;
    readonly reuseUntil: number;
    readonly fresh: readonly NewAuthorization[];
  }): Promise<Order>;
  order(id: string): Promise<Order | null>;
  ordersOfAccount(accountId: string, limit: number): Promise<string[]>;
  authorization(id: string): Promise<Authorization | null>;
  /** pending|valid → deactivated. */
  deactivateAuthorization(id: string): Promise<Authorization | null>;
  challenge(id: string): Promise<{ challenge: Challenge; authorization: Authorization } | null>;
  /**
   * pending → processing when its authorization is still pending, or a processing challenge whose
   * validation started before `staleBefore` (its replica died). True when the caller must validate.
   */
  startValidation(challengeId: string, staleBefore: number): Promise<boolean>;
  /** processing → valid|invalid, and the authorization with it; `validUntil` is the reuse window. */
  finishValidation(challengeId: string, outcome: { valid: true; validUntil: number } | { valid: false; error: StoredProblem }): Promise<void>;

  /** pending (all authorizations valid and unexpired) → processing. False if not ready. */
  beginFinalize(orderId: string, now: number): Promise<boolean>;
  /** processing → pending, when issuance was refused; the order is `ready` again. */
  abortFinalize(orderId: string): Promise<void>;
  /**
   * processing → valid, with the certificate recorded; with `staleBefore`, only when the order has
   * been processing since before then (a recovery). False when the order was not in that state.
   */
  completeFinalize(c: AcmeCertificate, staleBefore?: number): Promise<boolean>;
  /** The certificate the ledger holds for the order, issued to its account; null when none. */
  ledgerCertificateOfOrder(orderId: string, accountId: string): Promise<LedgerCertificate | null>;
  /**
   * processing (since before `staleBefore`) → pending, only while the ledger holds no certificate
   * for the order: checked in the same statement, so a certificate is never issued twice for it.
   */
  resetStaleFinalize(orderId: string, staleBefore: number): Promise<boolean>;
  certificate(serial: string): Promise<AcmeCertificate | null>;
  /** Valid, unexpired authorizations of the account for every one of `identifiers`. */
  accountHoldsAuthorizations(accountId: string, identifiers: readonly string[], now: number): Promise<boolean>;

  /**
   * Revokes the targets not revoked yet and records the decision as one revocation event, in one
   * statement: there is never a revocation without its event, nor an event naming a certificate
   * it did not revoke. No event when every target was revoked already.
   */
  revoke(r: RevocationRequest): Promise<RevocationResult>;
  revocation(issuerKeyId: string, serial: string): Promise<{ reason: number; revokedAt: number } | null>;
}

export const ACME_STORE_METHODS = [
  'createEabKey',
  'eabKey',
  'revokeEabKey',
  'revokeAccountsOfEabKey',
  'createAccount',
  'accountById',
  'accountByThumbprint',
  'updateContact',
  'deactivateAccount',
  'changeKey',
  'createOrder',
  'order',
  'ordersOfAccount',
  'authorization',
  'deactivateAuthorization',
  'challenge',
  'startValidation',
  'finishValidation',
  'beginFinalize',
  'abortFinalize',
  'completeFinalize',
  'ledgerCertificateOfOrder',
  'resetStaleFinalize',
  'certificate',
  'accountHoldsAuthorizations',
  'revoke',
  'revocation',
] as const satisfies readonly (keyof AcmeStore)[];
