// The Fastify application: HTTPS, the error format, health and metrics, and the protocol plugins.

import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { X509Certificate } from 'node:crypto';
import type { Issuer } from '../issuance/issuer.js';
import { acmePlugin, sendAcmeFrameworkError } from './acme/plugin.js';
import { PREFIX as ACME_PREFIX } from './acme/urls.js';
import type { AcmeDeps } from './acme/deps.js';
import { eabKeysApi } from './admin/eab-keys.js';
import { inventoryApi, type InventoryDeps } from './admin/inventory.js';
import { revocationsApi } from './admin/revocations.js';
import { bundleApi } from './api/bundle.js';
import { crlApi, type CrlRouteDeps } from './api/crl.js';
import { svidApi } from './api/svids.js';
import type { RevocationCheck } from '../revocation/set.js';
import { EST_PREFIX, estApi, sendEstFrameworkError, type EstDeps } from './est/plugin.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import { frameworkProblem, sendProblem } from './problem.js';
import { answerClientError } from './client-errors.js';
import { classifyFrameworkError, type FrameworkError } from './framework-errors.js';
import swagger from '@fastify/swagger';
import type { ConnectionsConfig } from '../config/config.js';
import { fastifyTimeouts, httpsListenerOptions } from './listener-options.js';
import type { Logger } from 'pino';
import { dashboardUi, UI_PREFIX, type UiOptions } from './ui/plugin.js';

export interface AppDeps {
  readonly tls: { readonly key: string; readonly cert: string; readonly clientCa: string; readonly ciphers: string };
  /** Handshake, header, request and keep-alive limits of every connection. */
  readonly connections: ConnectionsConfig;
  readonly bodyLimit: number;
  /** The process's logger (its level decides what is written). */
  readonly log: Logger;
  readonly issuer: Issuer;
  readonly tokens: TokenVerifier;
  readonly roots: readonly X509Certificate[];
  readonly issuing: X509Certificate;
  /** Revoked certificates of this CA: refused wherever a client certificate authenticates. */
  readonly revocations: RevocationCheck;
  /** Whether this replica can issue (its audit sink is reachable). */
  readonly ready: () => Promise<{ ok: boolean; detail: string }>;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  readonly inventory: InventoryDeps;
  /** EST (RFC 7030); absent: no EST routes. */
  readonly est?: EstDeps;
  readonly acme: AcmeDeps;
  /** Each issuing CA's CRL, served from memory. */
  readonly crl: CrlRouteDeps;
  /** The dashboard at /ui/; absent: none. */
  readonly ui?: UiOptions;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    https: {
      key: deps.tls.key,
      cert: deps.tls.cert,
      // Client certificates are requested, not required: token-authenticated agents have none.
      requestCert: true,
      rejectUnauthorized: false,
      ca: deps.tls.clientCa,
      minVersion: 'TLSv1.2',
      ...httpsListenerOptions(deps.connections, deps.tls.ciphers),
    },
    bodyLimit: deps.bodyLimit,
    // Unknown fields and wrongly typed values are errors, not something to drop or coerce quietly.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    loggerInstance: deps.log as FastifyBaseLogger,
    // Fastify's own request logging writes two lines per request; requestLogger below writes one.
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyTimeouts(deps.connections),
    return503OnClosing: true,
    // Errors the router and Node's parser answer themselves, in the protocol's format too.
    frameworkErrors: (err, req, reply) => void answerFrameworkError(classifyFrameworkError(err), req, reply),
    clientErrorHandler: answerClientError,
  });

  app.addHook('onResponse', requestLogger(deps.log));

  // The API and admin API take JSON only: without Fastify's default text/plain parser, any other
  // media type is a 415 rather than a schema error about the body.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = classifyFrameworkError(err);
    if (e.kind === 'internal') req.log.error({ err }, 'request failed');
    return sendProblem(reply, frameworkProblem(e, { bodyLimit: deps.bodyLimit }));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, frameworkProblem({ kind: 'not-found' }, { url: `${req.method} ${req.url}` })));

  // The OpenAPI document is generated from the routes' own schemas, so it cannot drift from them.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'workload-ca', version: '1', description: 'SPIFFE X509-SVID issuance and the issuance ledger inventory.' },
      components: {
        securitySchemes: {
          workloadToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'A trusted JWT (Kubernetes service-account token), or a current SVID as TLS client certificate',
          },
          adminToken: { type: 'http', scheme: 'bearer', description: 'The inventory API admin credential' },
        },
      },
    },
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await deps.ready();
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'not ready', detail: r.detail });
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  await app.register(svidApi, { issuer: deps.issuer, tokens: deps.tokens, issuing: deps.issuing, revocations: deps.revocations });
  await app.register(bundleApi, { roots: deps.roots });
  await app.register(crlApi, deps.crl);
  await app.register(inventoryApi, deps.inventory);
  // Its own encapsulated context under /.well-known/est: EST's body parsing and text/plain errors.
  if (deps.est) await app.register(estApi, { ...deps.est, prefix: EST_PREFIX });
  await app.register(eabKeysApi, {
    store: deps.acme.store,
    reader: deps.inventory.reader,
    revocations: deps.revocations,
    adminToken: deps.inventory.adminToken,
  });
  // The same store as ACME's revokeCert: its wrapper publishes every revocation to every replica.
  await app.register(revocationsApi, {
    store: deps.acme.store,
    reader: deps.inventory.reader,
    revocations: deps.revocations,
    adminToken: deps.inventory.adminToken,
  });
  // Its own encapsulated context: its body parsing and error format are ACME's, not the API's.
  await app.register(acmePlugin, deps.acme);
  // Its own context too: HTML pages, form bodies, session cookies and its security headers.
  if (deps.ui) {
    await app.register(dashboardUi, {
      ...deps.ui,
      prefix: UI_PREFIX,
      adminToken: deps.inventory.adminToken,
      inventory: deps.inventory.reader,
      store: deps.acme.store,
      revocations: deps.revocations,
      issuing: deps.issuing,
      metrics: deps.metrics,
    });
  }
  return app;
}

/**
 * One line per request, after the response: what was asked, of which route, how it ended and how
 * long it took. No headers and no body, so no token, key or CSR reaches the log. Costs one level
 * check when the logger is set above info.
 */
function requestLogger(log: Logger) {
  return (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (log.isLevelEnabled('info')) {
      req.log.info(
        {
          method: req.method,
          route: req.routeOptions.url ?? null,
          url: req.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          client: req.ip,
        },
        'request',
      );
    }
    done();
  };
}

/** Router errors (a path parameter over the length limit) answered by path, in that protocol's format. */
function answerFrameworkError(e: FrameworkError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = req.raw.url ?? '';
  if (url.startsWith(`${EST_PREFIX}/`)) return sendEstFrameworkError(reply, e);
  if (url.startsWith(`${ACME_PREFIX}/`)) return sendAcmeFrameworkError(reply, e);
  return sendProblem(reply, frameworkProblem(e));
}
