// newAccount, account update and deactivation, the account's orders, and keyChange (RFC 8555 §7.3).

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import { forgetAccount, signer } from './authenticate.js';
import { sendJson, type AcmeContext } from './context.js';
import { verifyEab } from './eab.js';
import { parseEnvelope, publicAccountKey, thumbprint, verifySignature, payloadJson } from './jws.js';
import { fail, raise } from './problems.js';
import { PATHS } from './urls.js';
import { accountView } from './views.js';

const MAX_CONTACTS = 10;

export function accountRoutes(app: FastifyInstance, ctx: AcmeContext): void {
  const { store, config } = ctx.deps;

  app.post(PATHS.newAccount, async (req, reply) => {
    const urls = ctx.urls(req);
    const s = await ctx.verify(req, 'jwk');
    if (s.by !== 'jwk') throw new Error('unreachable');
    const p = s.payload ?? {};
    const existing = await store.accountByThumbprint(s.thumbprint);
    if (existing !== null) {
      // RFC 8555 §7.3.6: nothing signed by a deactivated account's key is accepted, and that
      // includes looking the account up (onlyReturnExisting). 403 unauthorized, as Boulder and
      // Pebble answer; the key stays spent, and a new account needs a new key.
      if (existing.status !== 'valid') fail('unauthorized', `the account for this key is ${existing.status}; use a new key for a new account`);
      // RFC 8555 §7.3.1: the key already has an account; say which, change nothing.
      return sendJson(reply, 200, accountView(existing, urls), urls.account(existing.id));
    }
    if (p.onlyReturnExisting === true) fail('accountDoesNotExist', 'no account exists for this key');
    if (config.termsOfService !== null && p.termsOfServiceAgreed !== true) {
      fail('userActionRequired', `agree to the terms of service at ${config.termsOfService} ("termsOfServiceAgreed": true)`);
    }
    const contact = checkContact(p.contact);
    let binding: string | null = null;
    let eabKeyId: string | null = null;
    if (p.externalAccountBinding !== undefined) {
      const eab = await verifyEab(p.externalAccountBinding, s.jwk, urls.newAccount(), store);
      if (!eab.ok) raise(eab.problem);
      binding = eab.value.binding;
      eabKeyId = eab.value.keyId;
    } else if (config.externalAccountRequired) {
      fail('externalAccountRequired', 'this CA requires an external account binding: ask its operator for a key id and HMAC key');
    }
    const r = await store.createAccount({
      id: randomBytes(12).toString('base64url'),
      thumbprint: s.thumbprint,
      jwk: s.jwk,
      contact,
      binding,
      eabKeyId,
    });
    // Two requests racing with one new key: the loser is told about the winner's account.
    return sendJson(reply, r.created ? 201 : 200, accountView(r.account, urls), urls.account(r.account.id));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.account}/:id`, async (req, reply) => {
    const urls = ctx.urls(req);
    const signed = await ctx.verify(req, 'kid');
    const account = signer(signed);
    if (account.id !== req.params.id) fail('unauthorized', 'an account can only be read or changed with its own key');
    const payload = signed.payload;
    let current = account;
    if (payload !== null) {
      forgetAccount(account.id);
      if (payload.status !== undefined) {
        if (payload.status !== 'deactivated') fail('malformed', 'an account\'s status can only be changed to "deactivated"');
        current = (await store.deactivateAccount(account.id)) ?? account;
      } else if (payload.contact !== undefined) {
        current = (await store.updateContact(account.id, checkContact(payload.contact))) ?? account;
      }
    }
    return sendJson(reply, 200, accountView(current, urls), urls.account(current.id));
  });

  app.post<{ Params: { id: string } }>(`${PATHS.account}/:id/orders`, async (req, reply) => {
    const urls = ctx.urls(req);
    const account = signer(await ctx.verify(req, 'kid'));
    if (account.id !== req.params.id) fail('unauthorized', 'an account can only list its own orders');
    const ids = await store.ordersOfAccount(account.id, 1000);
    return sendJson(reply, 200, { orders: ids.map((id) => urls.order(id)) });
  });

  app.post(PATHS.keyChange, async (req, reply) => {
    const urls = ctx.urls(req);
    const outer = await ctx.verify(req, 'kid');
    const account = signer(outer);
    // The payload is itself a JWS, signed by the new key, naming the account and its old key.
    const inner = parseEnvelope(outer.payload);
    if (!inner.ok) raise(inner.problem);
    const h = inner.value.header;
    if (h.key.kind !== 'jwk') fail('malformed', 'the inner JWS of a key change must carry the new key as "jwk"');
    if (h.url !== urls.keyChange()) fail('malformed', 'the inner JWS must have the same "url" as the outer one');
    if (h.nonce !== undefined) fail('malformed', 'the inner JWS must not carry a nonce');
    const newKey = publicAccountKey(h.key.jwk, h.alg);
    if (!newKey.ok) raise(newKey.problem);
    const innerPayload = verifySignature(inner.value, newKey.value.key);
    if (!innerPayload.ok) raise(innerPayload.problem);
    const body = payloadJson(innerPayload.value);
    if (!body.ok) raise(body.problem);
    const p = body.value ?? {};
    if (p.account !== urls.account(account.id)) fail('malformed', 'the inner payload\'s "account" is not the account signing the request');
    if (typeof p.oldKey !== 'object' || p.oldKey === null) fail('malformed', 'the inner payload must carry "oldKey"');
    let oldThumbprint = '';
    try {
      oldThumbprint = await thumbprint(p.oldKey as JWK);
    } catch {
      fail('malformed', '"oldKey" is not a valid JWK');
    }
    if (oldThumbprint !== account.thumbprint) fail('malformed', '"oldKey" is not the account\'s current key');
    const newThumbprint = await thumbprint(newKey.value.jwk);
    forgetAccount(account.id);
    const changed = await store.changeKey(account.id, account.thumbprint, newKey.value.jwk, newThumbprint);
    if (!changed.ok) {
      if (changed.conflict !== null) {
        fail('malformed', 'the new key is already in use by another account', { status: 409, location: urls.account(changed.conflict) });
      }
      fail('unauthorized', 'the account changed while its key was being changed; try again');
    }
    const after = await store.accountById(account.id);
    return sendJson(reply, 200, accountView(after ?? account, urls), urls.account(account.id));
  });
}

/** Contacts are `mailto:` URLs with one address and nothing else (RFC 8555 §7.3). */
function checkContact(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_CONTACTS) fail('malformed', `"contact" must be an array of at most ${MAX_CONTACTS} URLs`);
  const out: string[] = [];
  for (const c of value as unknown[]) {
    if (typeof c !== 'string') fail('invalidContact', '"contact" entries must be strings');
    const s = c as string;
    if (!s.startsWith('mailto:')) fail('unsupportedContact', `only mailto: contacts are supported, not ${JSON.stringify(s)}`);
    const addr = s.slice('mailto:'.length);
    if (!/^[^@\s,?<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(addr)) fail('invalidContact', `${JSON.stringify(s)} is not one valid email address`);
    out.push(s);
  }
  return out;
}
