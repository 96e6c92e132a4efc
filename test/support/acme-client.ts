// A small, deliberately literal ACME client: every request is a JWS built here with jose, so
// tests can bend any one rule of RFC 8555 §6 and the bench can drive full orders the way real
// clients do (nonces reused from responses, one keep-alive connection pool per client).

import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FlattenedSign, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { Agent, request } from 'undici';

export interface AcmeResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Parsed when the body is JSON. */
  readonly json: Record<string, unknown> | null;
  readonly location: string | undefined;
}

export interface AccountKey {
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
  readonly alg: 'ES256' | 'RS256';
  readonly thumbprint: string;
}

export async function newAccountKey(alg: 'ES256' | 'RS256' = 'ES256'): Promise<AccountKey> {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const full = await exportJWK(publicKey);
  const jwk: JWK = alg === 'ES256' ? { kty: 'EC', crv: 'P-256', x: full.x!, y: full.y! } : { kty: 'RSA', n: full.n!, e: full.e! };
  return { privateKey, jwk, alg, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}

export interface SignOptions {
  /** Sign with the embedded key instead of the account URL. */
  readonly useJwk?: boolean;
  /** Replace or remove (undefined) protected-header members. */
  readonly header?: Record<string, unknown>;
  readonly contentType?: string;
  readonly nonce?: string;
}

export class RawAcmeClient {
  /** Replaceable, so a test can pin the connections to one replica behind a balancer. */
  dispatcher: Agent;
  directory: Record<string, string> = {};
  kid: string | null = null;
  private nonces: string[] = [];

  constructor(
    readonly directoryUrl: string,
    readonly ca: string,
    public key: AccountKey,
    connections = 1,
    /** A new connection per request, so that a layer-4 balancer spreads them over replicas. */
    private readonly freshConnections = false,
  ) {
    this.dispatcher = new Agent({ connect: { ca }, connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  async init(): Promise<this> {
    const r = await this.get(this.directoryUrl);
    this.directory = r.json as Record<string, string>;
    return this;
  }

  async get(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<AcmeResponse> {
    return this.send(url, method, undefined, undefined);
  }

  /** A fresh nonce: one kept from an earlier response, else from newNonce. */
  async nonce(): Promise<string> {
    const kept = this.nonces.pop();
    if (kept !== undefined) return kept;
    // send() keeps every response's nonce; take this one back out so it is used once.
    const r = await this.get(this.directory.newNonce!, 'HEAD');
    const n = this.nonces.pop();
    if (n === undefined) throw new Error(`newNonce gave no nonce (${r.status})`);
    return n;
  }

  async sign(url: string, payload: unknown, opts: SignOptions = {}): Promise<Record<string, string>> {
    const header: Record<string, unknown> = {
      alg: this.key.alg,
      nonce: opts.nonce ?? (await this.nonce()),
      url,
      ...(opts.useJwk || this.kid === null ? { jwk: this.key.jwk } : { kid: this.kid }),
    };
    for (const [k, v] of Object.entries(opts.header ?? {})) {
      if (v === undefined) delete header[k];
      else header[k] = v;
    }
    const bytes = payload === '' ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
    const jws = await new FlattenedSign(bytes).setProtectedHeader(header as never).sign(this.key.privateKey);
    return jws as unknown as Record<string, string>;
  }

  /** POST a JWS; `payload` '' is POST-as-GET. */
  async post(url: string, payload: unknown, opts: SignOptions = {}): Promise<AcmeResponse> {
    const body = JSON.stringify(await this.sign(url, payload, opts));
    return this.send(url, 'POST', body, opts.contentType ?? 'application/jose+json');
  }

  async send(url: string, method: string, body: string | undefined, contentType: string | undefined): Promise<AcmeResponse> {
    const res = await request(url, {
      method: method as 'GET',
      dispatcher: this.dispatcher,
      reset: this.freshConnections,
      ...(body !== undefined ? { body } : {}),
      headers: contentType ? { 'content-type': contentType } : {},
    });
    const text = await res.body.text();
    const n = res.headers['replay-nonce'];
    if (typeof n === 'string') this.nonces.push(n);
    let json: Record<string, unknown> | null = null;
    const type = String(res.headers['content-type'] ?? '');
    if (type.includes('json') && text) json = JSON.parse(text) as Record<string, unknown>;
    const loc = res.headers.location;
    return { status: res.statusCode, headers: res.headers, text, json, location: typeof loc === 'string' ? loc : undefined };
  }

  async newAccount(eab?: { keyId: string; hmacKey: string }, extra: Record<string, unknown> = {}): Promise<AcmeResponse> {
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true, ...extra };
    if (eab) payload.externalAccountBinding = await eabJws(this.key.jwk, this.directory.newAccount!, eab);
    const r = await this.post(this.directory.newAccount!, payload, { useJwk: true });
    if ((r.status === 201 || r.status === 200) && r.location) this.kid = r.location;
    return r;
  }

  keyAuthorization(token: string): string {
    return `${token}.${this.key.thumbprint}`;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

export async function eabJws(jwk: JWK, url: string, eab: { keyId: string; hmacKey: string }, alg = 'HS256'): Promise<Record<string, string>> {
  const jws = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg, kid: eab.keyId, url })
    .sign(Buffer.from(eab.hmacKey, 'base64url'));
  return jws as unknown as Record<string, string>;
}

export const dns01Value = (keyAuthorization: string): string => createHash('sha256').update(keyAuthorization).digest('base64url');

export interface OrderResult {
  readonly chainPem: string;
  readonly orderUrl: string;
  readonly requests: number;
}

/**
 * One full order the way a client does it: newOrder, each authorization, answer http-01 (the
 * caller serves the key authorization), poll, finalize, download.
 */
export async function completeOrder(
  c: RawAcmeClient,
  names: readonly string[],
  csrDer: Buffer,
  serve: (token: string, keyAuthorization: string) => void,
  pollMs = 20,
): Promise<OrderResult> {
  let requests = 0;
  const post = async (url: string, payload: unknown): Promise<AcmeResponse> => {
    requests++;
    const r = await c.post(url, payload);
    if (r.status >= 400) throw new Error(`${url}: ${r.status} ${r.text}`);
    return r;
  };
  const created = await post(c.directory.newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })) });
  const orderUrl = created.location!;
  let order = created.json!;
  for (const authzUrl of order.authorizations as string[]) {
    let authz = (await post(authzUrl, '')).json!;
    if (authz.status === 'valid') continue;
    const ch = (authz.challenges as { type: string; url: string; token: string }[]).find((x) => x.type === 'http-01')!;
    serve(ch.token, c.keyAuthorization(ch.token));
    await post(ch.url, {});
    while (authz.status === 'pending') {
      await new Promise((r) => setTimeout(r, pollMs));
      authz = (await post(authzUrl, '')).json!;
    }
    if (authz.status !== 'valid') throw new Error(`authorization ${authzUrl} is ${authz.status}: ${JSON.stringify(authz.challenges)}`);
  }
  order = (await post(order.finalize as string, { csr: csrDer.toString('base64url') })).json!;
  while (order.status === 'processing') {
    await new Promise((r) => setTimeout(r, pollMs));
    order = (await post(orderUrl, '')).json!;
  }
  if (order.status !== 'valid') throw new Error(`order is ${order.status}: ${JSON.stringify(order)}`);
  const cert = await post(order.certificate as string, '');
  return { chainPem: cert.text, orderUrl, requests };
}
