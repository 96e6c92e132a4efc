// Errors that Node's HTTP parser meets before there is a request to route (headers too large, a
// timeout, bytes that are not HTTP): answered on the socket as a problem document, since no
// route, and so no protocol, is known yet. Fastify's default writes its own JSON instead.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { problemTypeUri } from './problem.js';

export function answerClientError(err: { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, type, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ([431, 'header-too-large', 'the request headers are too large'] as const)
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ([408, 'request-timeout', 'the request did not arrive in time'] as const)
        : ([400, 'malformed-request', 'the request is not valid HTTP'] as const);
  const body = JSON.stringify({ type: problemTypeUri(type), title: type.replace(/-/g, ' '), status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
