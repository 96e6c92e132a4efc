// The ACME server (RFC 8555) as a Fastify plugin. Its routes speak only ACME: JOSE bodies in,
// problem documents of type urn:ietf:params:acme:error:* out, a fresh Replay-Nonce on every
// response. All protocol state is in the store and the shared state, none in this process.

import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ChallengeRunner } from './challenge-runner.js';
import { AcmeContext, sendJson } from './context.js';
import type { AcmeDeps } from './deps.js';
import { AcmeFailure, acmeError, problemDocument, problemStatus, type AcmeProblem } from './problems.js';
import { FRAMEWORK_STATUS, classifyFrameworkError, frameworkDetail, type FrameworkError } from '../framework-errors.js';
import { accountRoutes } from './routes-accounts.js';
import { authorizationRoutes } from './routes-authorizations.js';
import { orderRoutes } from './routes-orders.js';
import { revocationRoutes } from './routes-revocation.js';
import { PATHS, PREFIX } from './urls.js';

/** Resources that only take POST: a GET there is answered 405, not 404. */
const POST_ONLY = [
  PATHS.newAccount,
  PATHS.newOrder,
  PATHS.revokeCert,
  PATHS.keyChange,
  `${PATHS.account}/:id`,
  `${PATHS.account}/:id/orders`,
  `${PATHS.order}/:id`,
  `${PATHS.order}/:id/finalize`,
  `${PATHS.authorization}/:id`,
  `${PATHS.challenge}/:id`,
  `${PATHS.certificate}/:id`,
];

export async function acmePlugin(app: FastifyInstance, deps: AcmeDeps): Promise<void> {
  const ctx = new AcmeContext(deps);
  const runner = new ChallengeRunner(deps.store, deps.validate, ctx.limits, deps.config, app.log, ctx.now);

  // Bodies stay raw: the media type is checked per request so that a wrong one gets an ACME
  // problem (415) instead of the framework's own error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('Replay-Nonce', deps.nonces.mint());
    reply.header('Cache-Control', 'no-store');
    const index = `<${ctx.urls(req).directory()}>;rel="index"`;
    const link = reply.getHeader('Link');
    // Keep a route's own links (a challenge's rel="up") beside the index link.
    reply.header('Link', link === undefined ? index : [...(Array.isArray(link) ? link : [String(link)]), index]);
    return payload;
  });

  app.setErrorHandler((err: FastifyError | AcmeFailure, req, reply) => {
    if (err instanceof AcmeFailure) return sendProblem(reply, err.problem);
    const e = classifyFrameworkError(err);
    if (e.kind === 'internal') req.log.error({ err }, 'ACME request failed');
    return sendProblem(reply, frameworkAcmeProblem(e));
  });

  app.get(PATHS.directory, async (req, reply) => {
    const urls = ctx.urls(req);
    return sendJson(reply, 200, {
      newNonce: urls.newNonce(),
      newAccount: urls.newAccount(),
      newOrder: urls.newOrder(),
      revokeCert: urls.revokeCert(),
      keyChange: urls.keyChange(),
      renewalInfo: urls.renewalInfo(),
      meta: {
        externalAccountRequired: deps.config.externalAccountRequired,
        ...(deps.config.termsOfService !== null ? { termsOfService: deps.config.termsOfService } : {}),
      },
    });
  });

  // RFC 8555 §7.2: HEAD answers 200, GET 204; the nonce is added by the onSend hook.
  app.head(PATHS.newNonce, async (_req, reply) => reply.code(200).send());
  app.get(PATHS.newNonce, { exposeHeadRoute: false }, async (_req, reply) => reply.code(204).send());

  accountRoutes(app, ctx);
  orderRoutes(app, ctx);
  authorizationRoutes(app, ctx, runner);
  revocationRoutes(app, ctx);

  for (const url of POST_ONLY) {
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (req, reply) => {
        reply.header('Allow', 'POST');
        return sendProblem(
          reply,
          acmeError('malformed', `${req.method} is not allowed here; ACME resources are read with POST-as-GET`, { status: 405 }),
        );
      },
    });
  }
  app.all(`${PREFIX}/*`, async (req, reply) => sendProblem(reply, acmeError('malformed', `no ACME resource at ${req.url}`, { status: 404 })));
}

function sendProblem(reply: FastifyReply, p: AcmeProblem): FastifyReply {
  if (p.retryAfterSeconds !== undefined) reply.header('Retry-After', String(p.retryAfterSeconds));
  if (p.location !== undefined) reply.header('Location', p.location);
  return reply.code(problemStatus(p)).type('application/problem+json').send(problemDocument(p));
}

/** A framework error as ACME says it: `malformed` with the HTTP status, or serverInternal. */
function frameworkAcmeProblem(e: FrameworkError): AcmeProblem {
  if (e.kind === 'internal') return acmeError('serverInternal', 'internal error; try again later');
  return acmeError('malformed', frameworkDetail(e, { mediaType: 'application/jose+json' }), { status: FRAMEWORK_STATUS[e.kind] });
}

/** For errors answered before the plugin's routes (the router's), in ACME's format. */
export function sendAcmeFrameworkError(reply: FastifyReply, e: FrameworkError): FastifyReply {
  return sendProblem(reply, frameworkAcmeProblem(e));
}
