// Writes every EST reply, so that its header names go out in canonical case.
//
// HTTP header names are case-insensitive, but libest (the reference EST client that many device
// and gateway SDKs embed) matches Content-Type, Content-Transfer-Encoding, WWW-Authenticate and
// the rest case-sensitively, and gives up on a reply whose names are lower-case. Fastify
// lower-cases every name passed to reply.header() and hands that object to writeHead as it is,
// so EST replies bypass it: the reply is hijacked and written here with the names spelled out.
// Fastify's onResponse hooks (the request log) still run for a hijacked reply: they follow the
// raw response's 'finish' event, and reply.statusCode reads the status written here.

import type { FastifyReply } from 'fastify';

export type EstHeaders = Readonly<Record<string, string>>;

export function writeEstReply(reply: FastifyReply, status: number, headers: EstHeaders, body: string | Buffer): FastifyReply {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const out: Record<string, string | number | readonly string[]> = {};
  // Headers an outer layer put on the reply before the handler ran keep their values, in canonical case too.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) out[canonicalHeaderName(name)] = value;
  for (const [name, value] of Object.entries(headers)) out[canonicalHeaderName(name)] = value;
  // Given explicitly so the body is never chunked: libest reads Content-Length.
  out['Content-Length'] = payload.length;
  reply.hijack();
  reply.raw.writeHead(status, out as Record<string, string | number | string[]>);
  reply.raw.end(payload);
  return reply;
}

/** `content-transfer-encoding` -> `Content-Transfer-Encoding`; WWW-Authenticate is the one exception to the rule. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower === 'www-authenticate') return 'WWW-Authenticate';
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
