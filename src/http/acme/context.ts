// What every ACME route handler needs, built once per plugin.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type KeyMode, type Signed } from './authenticate.js';
import type { AcmeDeps } from './deps.js';
import { RateLimits } from './rate-limits.js';
import { Urls } from './urls.js';

export class AcmeContext {
  readonly limits: RateLimits;
  readonly now: () => number;

  constructor(readonly deps: AcmeDeps) {
    this.now = deps.clock ?? Date.now;
    this.limits = new RateLimits(deps.state, deps.config.rateLimits, this.now);
  }

  urls(req: FastifyRequest): Urls {
    return Urls.of(req, this.deps.config.publicUrl);
  }

  verify(req: FastifyRequest, mode: KeyMode): Promise<Signed> {
    return authenticate(req, this.urls(req), mode, this.deps);
  }
}

export const sendJson = (reply: FastifyReply, status: number, body: unknown, location?: string): FastifyReply => {
  if (location !== undefined) reply.header('Location', location);
  return reply.code(status).type('application/json').send(body);
};
