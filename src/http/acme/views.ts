// The JSON objects of RFC 8555 §7.1, from stored rows. Statuses that depend on time or on other
// rows (an order becoming ready, an authorization expiring) are derived here, when read.

import type { Account, Authorization, AuthorizationStatus, Challenge, Order, OrderStatus } from './store.js';
import type { Urls } from './urls.js';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function authorizationStatus(a: Pick<Authorization, 'status' | 'expiresAt'>, now: number): AuthorizationStatus {
  return (a.status === 'pending' || a.status === 'valid') && a.expiresAt <= now ? 'expired' : a.status;
}

export function orderStatus(o: Order, now: number): OrderStatus {
  if (o.status !== 'pending') return o.status;
  if (o.expiresAt <= now) return 'invalid';
  let ready = true;
  for (const a of o.authorizations) {
    const s = authorizationStatus(a, now);
    if (s === 'pending') ready = false;
    else if (s !== 'valid') return 'invalid';
  }
  return ready ? 'ready' : 'pending';
}

export function accountView(a: Account, urls: Urls): Record<string, unknown> {
  return { status: a.status, contact: a.contact, orders: urls.accountOrders(a.id) };
}

export function orderView(o: Order, urls: Urls, now: number): Record<string, unknown> {
  const status = orderStatus(o, now);
  return {
    status,
    expires: iso(o.expiresAt),
    identifiers: o.identifiers.map((value) => ({ type: 'dns', value })),
    authorizations: o.authorizationIds.map((id) => urls.authorization(id)),
    finalize: urls.finalize(o.id),
    ...(o.certificateSerial !== null && status === 'valid' ? { certificate: urls.certificate(o.certificateSerial) } : {}),
    ...(status === 'invalid'
      ? {
          error: o.error ?? {
            type: 'urn:ietf:params:acme:error:unauthorized',
            detail: 'an authorization of this order failed or expired',
            status: 403,
          },
        }
      : {}),
  };
}

export function challengeView(c: Challenge, urls: Urls): Record<string, unknown> {
  return {
    type: c.type,
    url: urls.challenge(c.id),
    token: c.token,
    status: c.status,
    ...(c.validatedAt !== null ? { validated: iso(c.validatedAt) } : {}),
    ...(c.error !== null ? { error: c.error } : {}),
  };
}

export function authorizationView(a: Authorization, urls: Urls, now: number): Record<string, unknown> {
  return {
    identifier: { type: 'dns', value: a.identifier },
    status: authorizationStatus(a, now),
    expires: iso(a.expiresAt),
    challenges: a.challenges.map((c) => challengeView(c, urls)),
  };
}
