// Authorizations and challenges (RFC 8555 §7.5).

import type { FastifyInstance } from 'fastify';
import { signer } from './authenticate.js';
import type { ChallengeRunner } from './challenge-runner.js';
import { sendJson, type AcmeContext } from './context.js';
import { fail } from './problems.js';
import type { Account, Authorization } from './store.js';
import { PATHS } from './urls.js';
import { authorizationStatus, authorizationView, challengeView } from './views.js';

export function authorizationRoutes(app: FastifyInstance, ctx: AcmeContext, runner: ChallengeRunner): void {
  const { store } = ctx.deps;

  app.post<{ Params: { id: string } }>(`${PATHS.authorization}/:id`, async (req, reply) => {
    const urls = ctx.urls(req);
    const signed = await ctx.verify(req, 'kid');
    const account = signer(signed);
    let authz = await ownAuthorization(ctx, req.params.id, account);
    const p = signed.payload;
    if (p !== null) {
      if (p.status !== 'deactivated') fail('malformed', 'an authorization\'s status can only be changed to "deactivated"');
      const s = authorizationStatus(authz, ctx.now());
      if (s !== 'pending' && s !== 'valid') fail('malformed', `an ${s} authorization cannot be deactivated`);
      authz = (await store.deactivateAuthorization(authz.id)) ?? authz;
    } else {
      // A client polling is the moment to notice a validation whose replica died.
      const stale = authz.challenges.find((c) => c.status === 'processing' && (c.startedAt ?? 0) < runner.staleBefore);
      if (stale !== undefined) await runner.start(stale, authz.identifier, account);
    }
    if (authz.challenges.some((c) => c.status === 'processing')) reply.header('Retry-After', '1');
    return sendJson(reply, 200, authorizationView(authz, urls, ctx.now()));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.challenge}/:id`, async (req, reply) => {
    const urls = ctx.urls(req);
    const signed = await ctx.verify(req, 'kid');
    const account = signer(signed);
    const found = await store.challenge(req.params.id);
    if (found === null || found.authorization.accountId !== account.id) fail('malformed', 'no such challenge for this account', { status: 404 });
    const { challenge, authorization } = found!;
    reply.header('Link', `<${urls.authorization(authorization.id)}>;rel="up"`);
    if (signed.payload === null) return sendJson(reply, 200, challengeView(challenge, urls));
    // The response is an empty object (RFC 8555 §7.5.1); anything else is a mistake worth saying.
    if (Object.keys(signed.payload).length !== 0) fail('malformed', 'respond to a challenge with an empty JSON object {}');
    const authzStatus = authorizationStatus(authorization, ctx.now());
    if (challenge.status === 'pending' && authzStatus === 'pending') {
      await ctx.limits.checkValidation(account.id);
      const started = await runner.start(challenge, authorization.identifier, account);
      if (started !== null) {
        // Validation usually takes milliseconds: waiting a little for it saves the client a
        // Retry-After round (a whole second) on almost every order.
        const settled = await within(started.settled, ctx.deps.config.validation.answerWithinMs);
        if (settled !== null) return sendJson(reply, 200, challengeView(settled, urls));
        reply.header('Retry-After', '1');
        return sendJson(reply, 200, challengeView({ ...challenge, status: 'processing' }, urls));
      }
    } else if (challenge.status === 'pending') {
      fail('malformed', `the authorization is ${authzStatus}; this challenge can no longer be answered`);
    }
    return sendJson(reply, 200, challengeView(challenge, urls));
  });
}

/** The promise's value if it settles within `ms`, else null; the timer never outlives the wait. */
async function within<T>(p: Promise<T | null>, ms: number): Promise<T | null> {
  if (ms <= 0) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function ownAuthorization(ctx: AcmeContext, id: string, account: Account): Promise<Authorization> {
  const authz = await ctx.deps.store.authorization(id);
  if (authz === null || authz.accountId !== account.id) fail('malformed', 'no such authorization for this account', { status: 404 });
  return authz!;
}
