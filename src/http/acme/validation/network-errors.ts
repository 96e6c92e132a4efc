// Socket errors as ACME error types. "Could not connect" is kept apart from other failures
// because only it lets a validator move on to the host's next address.

import type { ValidationError } from './types.js';

const CONNECT_FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'Host unreachable',
  ENETUNREACH: 'Network unreachable',
  EHOSTDOWN: 'Host down',
  ENETDOWN: 'Network down',
  EADDRNOTAVAIL: 'Address not available',
  ETIMEDOUT: 'Timeout during connect',
};

interface SystemError {
  readonly code?: string;
  readonly message?: string;
}

export function isConnectFailure(reason: unknown): boolean {
  const code = (reason as SystemError | null)?.code;
  return code !== undefined && code in CONNECT_FAILURES;
}

/** `where` names the endpoint, e.g. "203.0.113.7:80 (http://example.com/...)". */
export function networkError(reason: unknown, where: string): ValidationError {
  const { code, message } = (reason as SystemError | null) ?? {};
  if (code !== undefined && code in CONNECT_FAILURES) return { type: 'connection', detail: `${CONNECT_FAILURES[code]} at ${where}` };
  if (code === 'ECONNRESET') return { type: 'connection', detail: `Connection reset by peer at ${where}` };
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return { type: 'tls', detail: `TLS error at ${where}: ${message ?? code}` };
  }
  return { type: 'connection', detail: `Error at ${where}: ${message ?? code ?? String(reason)}` };
}
