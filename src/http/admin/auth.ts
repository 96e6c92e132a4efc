// The admin bearer credential that guards every /v1/admin route. Never open: with no credential
// configured, every request is refused.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from '../problem.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function adminGuard(adminToken: string | null): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = adminToken === null ? null : digest(adminToken);
  return async (req, reply) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    // Compare digests so the comparison takes the same time whatever was sent.
    if (expected === null || !m || !timingSafeEqual(digest(m[1]!), expected)) {
      reply.header('www-authenticate', 'Bearer realm="workload-ca-admin"');
      await sendProblem(
        reply,
        problem('unauthenticated', expected === null ? 'the admin API has no credential configured' : 'a valid admin bearer token is required'),
      );
    }
  };
}
