// EST errors are an HTTP status with a human-readable text/plain body (RFC 7030 §4.2.3); these
// are the statuses this server uses and the headers that go with them.

import type { FastifyReply } from 'fastify';
import { writeEstReply } from './writer.js';

export interface EstError {
  readonly status: 400 | 401 | 403 | 404 | 413 | 414 | 415 | 431 | 500 | 503;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/** Sent with every 401: the realm for HTTP Basic, which EST clients may fall back to. */
export const BASIC_CHALLENGE = 'Basic realm="workload-ca EST", charset="UTF-8"';

export function sendEstError(reply: FastifyReply, error: EstError): FastifyReply {
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (error.status === 401) headers['WWW-Authenticate'] = BASIC_CHALLENGE;
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  return writeEstReply(reply, error.status, headers, `${error.message}\n`);
}
