// http-01 (RFC 8555 §8.3): fetch the key authorization over plain HTTP on the configured port.
//
// Requests go to the resolved address with the name in the Host header (and SNI on an https
// hop), so the resolver setting decides where every hop connects. Redirects are followed by
// hand, one hop at a time, so that each target is checked before it is contacted.

import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { ValidationContext } from './context.js';
import { attemptFailed, connectToName, hostPort, type Attempt } from './endpoint.js';
import { normalizeHostName } from './identifier.js';
import { failed, quote, type ValidationOutcome } from './types.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'workload-ca ACME validation';

type Response =
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string | undefined; readonly address: string }
  | { readonly kind: 'status'; readonly status: number; readonly address: string }
  | { readonly kind: 'too-large'; readonly address: string }
  | { readonly kind: 'body'; readonly body: Buffer; readonly address: string };

export async function validateHttp01(ctx: ValidationContext, domain: string, token: string, keyAuthorization: string): Promise<ValidationOutcome> {
  const { http01Port, maxRedirects, maxResponseBytes } = ctx.settings;
  const first = new URL(`http://${domain}/.well-known/acme-challenge/${token}`);
  first.port = String(http01Port);
  let url = first;
  for (let redirects = 0; ; redirects++) {
    const fetched = await connectToName(ctx, url.hostname, `fetching ${url.href}`, (address) => get(ctx, url, address));
    if (!fetched.ok) return fetched;
    const response = fetched.value;
    const from = `${url.href} [${response.address}]`;
    switch (response.kind) {
      case 'redirect': {
        if (redirects >= maxRedirects)
          return failed('connection', `Too many redirects (more than ${maxRedirects}) fetching ${first.href}; the last was from ${from}`);
        const next = redirectTarget(ctx, url, response.location);
        if (typeof next === 'string') return failed('connection', `Invalid redirect from ${from} (HTTP ${response.status}): ${next}`);
        url = next;
        continue;
      }
      case 'status':
        // The first URL is the client's own name at a fixed path, and its status is what a client
        // needs to fix its setup. A redirect target is any path on any host the networks allow
        // (private ranges included), and its status would say whether that path exists there:
        // the client is told only that it was not 200.
        if (redirects === 0) return failed('unauthorized', `Invalid response from ${from}: HTTP ${response.status}`);
        return failed('unauthorized', `Invalid response from ${from}, reached by redirect from ${first.href}: the status was not 200`);
      case 'too-large':
        return failed('unauthorized', `Invalid response from ${from}: response too large (more than ${maxResponseBytes} bytes)`);
      case 'body': {
        // RFC 8555 §8.3: whitespace around the key authorization is not part of it.
        const body = response.body.toString('utf8').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
        if (body === keyAuthorization) return { ok: true, address: response.address };
        return failed(
          'incorrectResponse',
          `The key authorization file from ${from} does not match this challenge: expected ${quote(keyAuthorization, 256)}, received ${received(body)}`,
        );
      }
    }
  }
}

/**
 * What a wrong answer held, for the problem detail. Only a body shaped like a key authorization
 * (another token's, or another account's thumbprint: the usual mistakes) is quoted; anything else
 * could be a page from a host the client cannot reach itself, so only its size is told.
 */
function received(body: string): string {
  if (/^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/.test(body)) return quote(body, 256);
  return `${Buffer.byteLength(body)} bytes that are not a key authorization`;
}

/** The next URL, or why it may not be fetched: only the two validation ports, and only by name. */
function redirectTarget(ctx: ValidationContext, from: URL, location: string | undefined): URL | string {
  if (location === undefined || location === '') return 'no Location header';
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return `Location ${quote(location)} is not a URL`;
  }
  const { http01Port, tlsAlpn01Port } = ctx.settings;
  const allowedPort = target.protocol === 'http:' ? http01Port : target.protocol === 'https:' ? tlsAlpn01Port : null;
  if (allowedPort === null) return `${quote(target.protocol)} in ${quote(location)} is not http: or https:`;
  if (effectivePort(target) !== allowedPort) {
    return `port ${effectivePort(target)} in ${quote(location)} is not allowed; only http on ${http01Port} and https on ${tlsAlpn01Port}`;
  }
  const host = target.hostname;
  if (host.startsWith('[') || isIP(host) !== 0) return `${quote(location)} names an IP address, not a host name`;
  if (normalizeHostName(host) === null) return `${quote(host)} in ${quote(location)} is not a valid host name`;
  if (target.username !== '' || target.password !== '') return `${quote(location)} carries credentials`;
  target.hash = '';
  return target;
}

function effectivePort(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

function get(ctx: ValidationContext, url: URL, address: string): Promise<Attempt<Response>> {
  const max = ctx.settings.maxResponseBytes;
  const port = effectivePort(url);
  const where = `${hostPort(address, port)} (${url.href})`;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Attempt<Response>): void => {
      if (settled) return;
      settled = true;
      request.destroy();
      resolve(result);
    };
    const options: https.RequestOptions = {
      host: address,
      port,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { host: url.hostname, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
      agent: false,
      signal: ctx.signal,
    };
    // Certificates on an https hop are not checked, as at other CAs: the host is proving control
    // of its name, and may well not hold a valid certificate for it yet.
    const request =
      url.protocol === 'https:'
        ? https.request({ ...options, servername: url.hostname, rejectUnauthorized: false, minVersion: 'TLSv1.2' })
        : http.request(options);
    request.on('error', (err) => settle(attemptFailed(err, where)));
    request.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) return settle({ ok: true, value: { kind: 'redirect', status, location: res.headers.location, address } });
      if (status !== 200) return settle({ ok: true, value: { kind: 'status', status, address } });
      if (Number(res.headers['content-length']) > max) return settle({ ok: true, value: { kind: 'too-large', address } });
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) return settle({ ok: true, value: { kind: 'too-large', address } });
        chunks.push(chunk);
      });
      res.on('end', () => settle({ ok: true, value: { kind: 'body', body: Buffer.concat(chunks), address } }));
      res.on('error', (err) => settle(attemptFailed(err, where)));
      res.on('close', () => {
        if (!res.complete)
          settle({
            ok: false,
            unreachable: false,
            error: { type: 'connection', detail: `Connection closed before the whole response arrived from ${where}` },
          });
      });
    });
    request.end();
  });
}
