// RFC 9457 problem details for the issuance API. Each cause has a stable `type` URI so agents
// can branch on it without parsing prose.

import type { FastifyReply } from 'fastify';
import { frameworkDetail, type FrameworkError } from './framework-errors.js';

export const PROBLEM_TYPES = {
  'malformed-request': 400,
  'malformed-csr': 400,
  'key-not-allowed': 400,
  unauthenticated: 401,
  'identity-not-allowed': 403,
  'san-not-allowed': 403,
  'lifetime-not-allowed': 403,
  'no-matching-rule': 403,
  'path-not-allowed': 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'request-timeout': 408,
  'body-too-large': 413,
  'uri-too-long': 414,
  'unsupported-media-type': 415,
  'header-too-large': 431,
  'audit-unavailable': 503,
  'ca-unavailable': 503,
  'crl-unavailable': 503,
  internal: 500,
} as const;

export type ProblemType = keyof typeof PROBLEM_TYPES;

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly rule?: string;
}

export const problemTypeUri = (t: ProblemType): string => `urn:workload-ca:problem:${t}`;

export function problem(type: ProblemType, detail: string, extra: { rule?: string } = {}): Problem {
  return { type: problemTypeUri(type), title: type.replace(/-/g, ' '), status: PROBLEM_TYPES[type], detail, ...extra };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

const FRAMEWORK_PROBLEMS: { readonly [K in FrameworkError['kind']]: ProblemType } = {
  'body-too-large': 'body-too-large',
  'unsupported-media-type': 'unsupported-media-type',
  'malformed-body': 'malformed-request',
  'invalid-request': 'malformed-request',
  'not-found': 'not-found',
  'header-too-large': 'header-too-large',
  'uri-too-long': 'uri-too-long',
  internal: 'internal',
};

/** A framework error as the API's problem document. */
export function frameworkProblem(e: FrameworkError, context: { readonly bodyLimit?: number; readonly url?: string } = {}): Problem {
  const detail = e.kind === 'not-found' && context.url !== undefined ? `no route for ${context.url}` : frameworkDetail(e, context);
  return problem(FRAMEWORK_PROBLEMS[e.kind], detail);
}
