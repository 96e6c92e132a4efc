// What each protocol answers to each of the Issuer's refusals, in one table: the issuance API's
// problem type, ACME's error type (RFC 8555 §6.7), EST's status (RFC 7030 §4.2.3). A refusal code
// added to the vocabulary without a row here does not compile, and the test that walks the table
// on every path fails.

import type { IssuanceError } from '../issuance/issuer.js';
import type { RefusalCode } from '../policy/types.js';
import type { AcmeErrorType } from './acme/problems.js';
import type { EstError } from './est/reply.js';
import { problem, type Problem, type ProblemType } from './problem.js';

export type AnswerCode = RefusalCode | 'unavailable' | 'ca-unavailable';

export interface Answers {
  readonly api: ProblemType;
  readonly acme: AcmeErrorType;
  readonly est: EstError['status'];
}

export const REFUSAL_ANSWERS: { readonly [C in AnswerCode]: Answers } = {
  'bad-csr': { api: 'malformed-csr', acme: 'badCSR', est: 400 },
  'key-not-allowed': { api: 'key-not-allowed', acme: 'badPublicKey', est: 400 },
  // The policy will not issue for the name or identity asked: rejectedIdentifier is ACME's word.
  'no-matching-rule': { api: 'no-matching-rule', acme: 'rejectedIdentifier', est: 403 },
  'identity-not-allowed': { api: 'identity-not-allowed', acme: 'rejectedIdentifier', est: 403 },
  'san-not-allowed': { api: 'san-not-allowed', acme: 'rejectedIdentifier', est: 403 },
  // Not about a name: this requester may not have this lifetime, or use this path at all.
  'lifetime-not-allowed': { api: 'lifetime-not-allowed', acme: 'unauthorized', est: 403 },
  'path-not-allowed': { api: 'path-not-allowed', acme: 'unauthorized', est: 403 },
  unauthenticated: { api: 'unauthenticated', acme: 'unauthorized', est: 401 },
  'bad-request': { api: 'malformed-request', acme: 'malformed', est: 400 },
  unavailable: { api: 'audit-unavailable', acme: 'serverInternal', est: 503 },
  // The issuing CA is outside its validity: nothing can be signed until an operator rotates it.
  'ca-unavailable': { api: 'ca-unavailable', acme: 'serverInternal', est: 503 },
};

export function answerCode(error: IssuanceError): AnswerCode {
  if (error.kind === 'refused') return error.code;
  return error.service === 'ca' ? 'ca-unavailable' : 'unavailable';
}

/** The human part of an answer: the reason, the rule that gave it, and for 503 that nothing happened. */
export function answerDetail(error: IssuanceError): string {
  if (error.kind === 'unavailable') return `${error.message}; nothing was issued`;
  return error.message.includes(`rule "${error.rule}"`) ? error.message : `${error.message} (rule "${error.rule}")`;
}

/** The API's problem document for an Issuer error. */
export function apiProblem(error: IssuanceError): Problem {
  return problem(REFUSAL_ANSWERS[answerCode(error)].api, answerDetail(error), error.kind === 'refused' ? { rule: error.rule } : {});
}

/** EST's status and text for an Issuer error; a refused CSR says which check refused it. */
export function estError(error: IssuanceError): EstError {
  const status = REFUSAL_ANSWERS[answerCode(error)].est;
  if (error.kind === 'unavailable') return { status, message: answerDetail(error), retryAfterSeconds: error.retryAfterSeconds };
  if (error.csrError !== undefined) return { status, message: `bad CSR (${error.csrError}): ${error.message}` };
  return { status, message: `${error.code}: ${answerDetail(error)}` };
}
