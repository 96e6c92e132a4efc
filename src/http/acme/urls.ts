// The ACME resource URLs. Each is absolute (RFC 8555 requires it) and built from one base: the
// configured public URL behind a load balancer, or the scheme and Host the client used.

import type { FastifyRequest } from 'fastify';

export const PREFIX = '/acme';

export const PATHS = {
  directory: `${PREFIX}/directory`,
  newNonce: `${PREFIX}/new-nonce`,
  newAccount: `${PREFIX}/new-account`,
  newOrder: `${PREFIX}/new-order`,
  revokeCert: `${PREFIX}/revoke-cert`,
  keyChange: `${PREFIX}/key-change`,
  renewalInfo: `${PREFIX}/renewal-info`,
  account: `${PREFIX}/acct`,
  order: `${PREFIX}/order`,
  authorization: `${PREFIX}/authz`,
  challenge: `${PREFIX}/chall`,
  certificate: `${PREFIX}/cert`,
} as const;

export class Urls {
  constructor(readonly base: string) {}

  static of(req: FastifyRequest, publicUrl: string | null): Urls {
    return new Urls(publicUrl ?? `https://${req.headers.host ?? req.hostname}`);
  }

  /** What the JWS `url` header must equal for this request. */
  requestUrl(req: FastifyRequest): string {
    return this.base + req.url;
  }

  directory = (): string => this.base + PATHS.directory;
  newNonce = (): string => this.base + PATHS.newNonce;
  newAccount = (): string => this.base + PATHS.newAccount;
  newOrder = (): string => this.base + PATHS.newOrder;
  revokeCert = (): string => this.base + PATHS.revokeCert;
  keyChange = (): string => this.base + PATHS.keyChange;
  renewalInfo = (): string => this.base + PATHS.renewalInfo;
  account = (id: string): string => `${this.base}${PATHS.account}/${id}`;
  accountOrders = (id: string): string => `${this.base}${PATHS.account}/${id}/orders`;
  order = (id: string): string => `${this.base}${PATHS.order}/${id}`;
  finalize = (id: string): string => `${this.base}${PATHS.order}/${id}/finalize`;
  authorization = (id: string): string => `${this.base}${PATHS.authorization}/${id}`;
  challenge = (id: string): string => `${this.base}${PATHS.challenge}/${id}`;
  certificate = (serial: string): string => `${this.base}${PATHS.certificate}/${serial}`;

  /** The account id a `kid` names, or null when it is not one of our account URLs. */
  accountIdOf(kid: string): string | null {
    const prefix = `${this.base}${PATHS.account}/`;
    if (!kid.startsWith(prefix)) return null;
    const id = kid.slice(prefix.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
  }
}
