// ACME errors (RFC 8555 §6.7) as values: every refusal on the ACME path is one of these, sent as
// an `application/problem+json` document of type `urn:ietf:params:acme:error:<type>`.

import type { IssuanceError } from '../../issuance/issuer.js';
import { REFUSAL_ANSWERS, answerCode, answerDetail } from '../refusal-answers.js';

export const ACME_ERROR_STATUS = {
  accountDoesNotExist: 400,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  caa: 403,
  compound: 403,
  connection: 400,
  dns: 400,
  externalAccountRequired: 403,
  incorrectResponse: 403,
  invalidContact: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  rejectedIdentifier: 400,
  serverInternal: 500,
  tls: 400,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  userActionRequired: 403,
} as const;

export type AcmeErrorType = keyof typeof ACME_ERROR_STATUS;

export interface AcmeProblem {
  readonly type: AcmeErrorType;
  readonly detail: string;
  /** Overrides the type's usual status (405, 409, 413, 415, 503, 404). */
  readonly status?: number;
  readonly subproblems?: readonly { readonly type: AcmeErrorType; readonly detail: string; readonly identifier: { type: 'dns'; value: string } }[];
  /** badSignatureAlgorithm: what the server accepts. */
  readonly algorithms?: readonly string[];
  readonly retryAfterSeconds?: number;
  /** keyChange conflict: the account that already holds the key. */
  readonly location?: string;
}

export const acmeError = (type: AcmeErrorType, detail: string, extra: Omit<AcmeProblem, 'type' | 'detail'> = {}): AcmeProblem => ({
  type,
  detail,
  ...extra,
});

export const problemStatus = (p: AcmeProblem): number => p.status ?? ACME_ERROR_STATUS[p.type];

export function problemDocument(p: AcmeProblem): Record<string, unknown> {
  return {
    type: `urn:ietf:params:acme:error:${p.type}`,
    detail: p.detail,
    status: problemStatus(p),
    ...(p.subproblems ? { subproblems: p.subproblems.map((s) => ({ ...s, type: `urn:ietf:params:acme:error:${s.type}` })) } : {}),
    ...(p.algorithms ? { algorithms: p.algorithms } : {}),
  };
}

/** The Issuer's refusal (or 503) as ACME says it, from the one refusal table. */
export function acmeAnswer(error: IssuanceError): AcmeProblem {
  const type = REFUSAL_ANSWERS[answerCode(error)].acme;
  if (error.kind === 'unavailable') return acmeError(type, answerDetail(error), { status: 503, retryAfterSeconds: error.retryAfterSeconds });
  return acmeError(type, answerDetail(error));
}

/** Thrown inside route handlers only, caught by the plugin's error handler and sent as-is. */
export class AcmeFailure extends Error {
  constructor(readonly problem: AcmeProblem) {
    super(problem.detail);
  }
}

export function fail(type: AcmeErrorType, detail: string, extra: Omit<AcmeProblem, 'type' | 'detail'> = {}): never {
  throw new AcmeFailure(acmeError(type, detail, extra));
}

export function raise(problem: AcmeProblem): never {
  throw new AcmeFailure(problem);
}
