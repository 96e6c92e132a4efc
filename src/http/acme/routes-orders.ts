// newOrder, order, finalize and certificate download (RFC 8555 §7.4).

import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { signer } from './authenticate.js';
import { sendJson, type AcmeContext } from './context.js';
import { checkCsrAgainstOrder, finalizeOrder } from './finalize.js';
import { settleStaleOrder } from './finalize-recovery.js';
import { readIdentifiers } from './identifiers.js';
import { acmeAnswer, fail, raise } from './problems.js';
import { CHALLENGE_TYPES, type Account, type NewAuthorization, type Order } from './store.js';
import { PATHS } from './urls.js';
import { orderStatus, orderView } from './views.js';

const newId = (): string => randomBytes(12).toString('base64url');
/** 128 bits, base64url, as RFC 8555 §8.1 asks of tokens. */
const newToken = (): string => randomBytes(16).toString('base64url');

export function orderRoutes(app: FastifyInstance, ctx: AcmeContext): void {
  const { store, config } = ctx.deps;

  app.post(PATHS.newOrder, async (req, reply) => {
    const urls = ctx.urls(req);
    const signed = await ctx.verify(req, 'kid');
    const account = signer(signed);
    const p = signed.payload;
    if (p === null) fail('malformed', 'newOrder needs a payload with "identifiers"');
    if (p.notBefore !== undefined || p.notAfter !== undefined) {
      fail('malformed', '"notBefore" and "notAfter" are not supported: the policy sets the certificate\'s lifetime');
    }
    const identifiers = readIdentifiers(p.identifiers);
    // Ask now, so that nobody proves control of a name the policy would refuse at finalize.
    const preview = await ctx.deps.issuer.preview({
      path: 'acme',
      requester: { kind: 'acme-account', accountId: account.id, binding: account.binding },
      client: req.ip,
      dnsNames: identifiers,
    });
    if (!preview.ok) raise(acmeAnswer(preview.error));
    await ctx.limits.newOrder(account.id);

    const now = ctx.now();
    const orderLifetime = config.orderLifetimeSeconds * 1000;
    const fresh: NewAuthorization[] = identifiers.map((identifier) => ({
      id: newId(),
      identifier,
      expiresAt: now + orderLifetime,
      challenges: CHALLENGE_TYPES.map((type) => ({ id: newId(), type, token: newToken() })),
    }));
    const order = await store.createOrder({
      id: newId(),
      accountId: account.id,
      identifiers,
      expiresAt: now + orderLifetime,
      // A reused authorization must outlive the order that reuses it.
      reuseUntil: now + orderLifetime,
      fresh,
    });
    return sendJson(reply, 201, orderView(order, urls, now), urls.order(order.id));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.order}/:id`, async (req, reply) => {
    const urls = ctx.urls(req);
    const account = signer(await ctx.verify(req, 'kid'));
    const order = await ownOrder(ctx, req.params.id, account, req.log);
    return sendJson(reply, 200, orderView(order, urls, ctx.now()), urls.order(order.id));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.order}/:id/finalize`, async (req, reply) => {
    const urls = ctx.urls(req);
    const signed = await ctx.verify(req, 'kid');
    const account = signer(signed);
    const order = await ownOrder(ctx, req.params.id, account, req.log);
    const status = orderStatus(order, ctx.now());
    if (status !== 'ready') fail('orderNotReady', `the order is ${status}, not ready`);
    const requester = { kind: 'acme-account' as const, accountId: account.id, binding: account.binding };
    const csr = await checkCsrAgainstOrder(signed.payload?.csr, order, { path: 'acme', requester, client: req.ip }, ctx.deps.issuer);
    const cert = await finalizeOrder(order, account, csr, { store, issuer: ctx.deps.issuer, now: ctx.now, client: req.ip });
    const done: Order = { ...order, status: 'valid', certificateSerial: cert.serial };
    return sendJson(reply, 200, orderView(done, urls, ctx.now()), urls.order(order.id));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.certificate}/:id`, async (req, reply) => {
    const account = signer(await ctx.verify(req, 'kid'));
    const cert = await store.certificate(req.params.id);
    if (cert === null || cert.accountId !== account.id) fail('malformed', 'no such certificate for this account', { status: 404 });
    return reply.code(200).type('application/pem-certificate-chain').send(cert!.chainPem);
  });
}

async function ownOrder(ctx: AcmeContext, id: string, account: Account, log: FastifyBaseLogger): Promise<Order> {
  const order = await ctx.deps.store.order(id);
  // Another account's order looks exactly like a missing one.
  if (order === null || order.accountId !== account.id) fail('malformed', 'no such order for this account', { status: 404 });
  // Reading an order is when one stuck in processing by a dead replica is settled.
  const timeoutMs = ctx.deps.config.finalizeTimeoutSeconds * 1000;
  return settleStaleOrder(order!, { store: ctx.deps.store, issuer: ctx.deps.issuer, now: ctx.now, timeoutMs, log });
}
