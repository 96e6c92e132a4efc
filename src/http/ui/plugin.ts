// The dashboard at /ui/: server-rendered pages over the ledger, for the people who run the CA.
// Signed in with the admin token, which is exchanged for a short-lived signed session cookie.
// Every state change (sign-in, sign-out, revocation) is a POST that must come from this origin
// and, once signed in, carry the session's anti-CSRF token. The pages run no inline script.

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AcmeStore } from '../acme/store.js';
import type { DashboardReader } from '../../ledger/dashboard-queries.js';
import { InvalidDashboardCursor } from '../../ledger/dashboard-queries.js';
import type { LedgerReader } from '../../ledger/inventory.js';
import type { Policy } from '../../policy/index.js';
import { operatorDryRun, operatorRevoke, REVOCATION_REASONS, type OperatorRevocation, type Selector } from '../../revocation/operator.js';
import { normalizeSerial, type RevocationCheck } from '../../revocation/set.js';
import { loadAssets } from './assets.js';
import { toText, type Html } from './html.js';
import { errorBody, page, query, WINDOWS, type Frame } from './layout.js';
import { loginBody } from './login-page.js';
import { readMetrics, type MetricsFigures } from './metrics-text.js';
import { overviewBody } from './overview-page.js';
import { policyBody } from './policy-page.js';
import { refusalEventsBody, refusalsBody } from './refusals-page.js';
import { confirmBody, revokedBody, type UiSelection } from './revoke-page.js';
import { readCookie, SESSION_COOKIE, SessionCodec, sessionCookie, type Session } from './session.js';
import { certificateBody, EXPIRING, workloadsBody } from './workloads-page.js';

/** What the serving process gives the dashboard beyond what the app already holds. */
export interface UiOptions {
  /** Null: no session key could be read, so nobody can sign in. */
  readonly sessionKey: Buffer | null;
  readonly sessionSeconds: number;
  readonly dashboard: DashboardReader;
  readonly policy: { readonly current: Policy; readonly loadedAt: Date };
  readonly mode: 'embedded' | 'production';
}

export interface UiDeps extends UiOptions {
  /** Null: no admin credential configured, so nobody can sign in. */
  readonly adminToken: string | null;
  readonly inventory: LedgerReader;
  /** The store operator revocations go through (wrapped so that every replica hears of them). */
  readonly store: AcmeStore;
  readonly revocations: RevocationCheck;
  readonly issuing: X509Certificate;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  readonly now?: () => number;
}

export const UI_PREFIX = '/ui';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PUBLIC_ROUTES = new Set([`${UI_PREFIX}/login`, `${UI_PREFIX}/assets/:name`]);
const PAGE_SIZE = 50;
const HTML_TYPE = 'text/html; charset=utf-8';

type Form = Record<string, string>;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

export async function dashboardUi(app: FastifyInstance, deps: UiDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const { urls, files } = loadAssets();
  const codec = deps.adminToken !== null && deps.sessionKey !== null ? new SessionCodec(deps.sessionKey, deps.adminToken, deps.sessionSeconds) : null;
  const expectedToken = deps.adminToken === null ? null : digest(deps.adminToken);
  const sessions = new WeakMap<FastifyRequest, Session>();

  // HTML forms post url-encoded bodies; small ones, and only here.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  const frame = (req: FastifyRequest, title: string, extra: Partial<Frame> = {}): Frame => {
    const session = sessions.get(req);
    return { title, assets: urls, ...(session && codec ? { csrf: codec.csrfToken(session) } : {}), ...extra };
  };
  const send = (reply: FastifyReply, status: number, f: Frame, body: Html): FastifyReply =>
    reply
      .code(status)
      .type(HTML_TYPE)
      .send(toText(page(f, body)));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = err instanceof BadRequest || err instanceof InvalidDashboardCursor;
    const status = known ? 400 : (err.statusCode ?? 500) < 500 ? err.statusCode! : 500;
    if (status >= 500) req.log.error({ err }, 'dashboard request failed');
    return send(
      reply,
      status,
      frame(req, status >= 500 ? 'Something failed' : 'Bad request'),
      errorBody(status >= 500 ? 'The server could not answer; the log says why.' : err.message),
    );
  });
  app.setNotFoundHandler((req, reply) => send(reply, 404, frame(req, 'Not found'), errorBody(`Nothing at ${req.url}.`)));

  // Every page but sign-in and the static files needs a session.
  app.addHook('onRequest', async (req, reply) => {
    if (PUBLIC_ROUTES.has(req.routeOptions.url ?? '')) return;
    const checked = codec ? codec.check(readCookie(req.headers.cookie, SESSION_COOKIE), now()) : ({ ok: false, why: 'absent' } as const);
    if (checked.ok) {
      sessions.set(req, checked.session);
      return;
    }
    if (checked.why !== 'absent') {
      req.log.info({ event: 'dashboard-session-refused', why: checked.why, client: req.ip }, 'dashboard session refused');
      reply.header('set-cookie', sessionCookie('', 0));
    }
    if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect(`${UI_PREFIX}/login`, 303);
    return send(reply, 401, frame(req, 'Sign in'), loginBody('Your session has ended; sign in again.', codec !== null));
  });

  // State changes: same origin only, and (once signed in) the session's anti-CSRF token.
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST') return;
    const origin = req.headers.origin;
    const sameOrigin = fromThisOrigin(origin, req.headers.host, req.headers['sec-fetch-site']);
    const session = sessions.get(req);
    const form = (req.body ?? {}) as Form;
    const csrfOk = session === undefined ? req.routeOptions.url === `${UI_PREFIX}/login` : codec!.checkCsrf(session, form._csrf);
    if (sameOrigin && csrfOk) return;
    req.log.warn(
      { event: 'dashboard-csrf-refused', route: req.routeOptions.url, origin: origin ?? null, sameOrigin, csrfOk, client: req.ip },
      'dashboard request refused: cross-site or without its anti-CSRF token',
    );
    return send(
      reply,
      403,
      frame(req, 'Refused'),
      errorBody('This request did not come from a dashboard page of this server. Reload the page and try again.'),
    );
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const asset = files.get(req.params.name);
    if (!asset) return send(reply, 404, frame(req, 'Not found'), errorBody('No such file.'));
    return reply.type(asset.type).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body);
  });

  app.get('/login', async (req, reply) => send(reply, 200, frame(req, 'Sign in'), loginBody(null, codec !== null)));

  app.post<{ Body: Form }>('/login', async (req, reply) => {
    const token = req.body?.token;
    const ok = codec !== null && expectedToken !== null && typeof token === 'string' && timingSafeEqual(digest(token), expectedToken);
    // Who tried and how it ended; never what was typed.
    req.log.info(
      { event: 'dashboard-login', outcome: ok ? 'success' : 'failure', client: req.ip },
      ok ? 'dashboard sign-in' : 'dashboard sign-in refused',
    );
    if (!ok) return send(reply, 401, frame(req, 'Sign in'), loginBody('That is not the admin token.', codec !== null));
    const { cookie } = codec.issue(now());
    return reply.header('set-cookie', sessionCookie(cookie, codec.lifetimeSeconds)).redirect(`${UI_PREFIX}/`, 303);
  });

  app.post('/logout', async (req, reply) => {
    req.log.info({ event: 'dashboard-logout', session: sessions.get(req)?.id.slice(0, 8), client: req.ip }, 'dashboard sign-out');
    return reply.header('set-cookie', sessionCookie('', 0)).redirect(`${UI_PREFIX}/login`, 303);
  });

  app.get('/', async (req, reply) => {
    const [overview, metrics] = await Promise.all([deps.dashboard.overview(), readServerMetrics(deps.metrics, req)]);
    const body = overviewBody({
      overview,
      metrics,
      ca: { subject: deps.issuing.subject.replace(/\n/g, ', '), notAfter: new Date(deps.issuing.validTo) },
      policy: { hash: deps.policy.current.hash, loadedAt: deps.policy.loadedAt },
      mode: deps.mode,
      now: new Date(now()),
    });
    return send(reply, 200, frame(req, 'Overview', { active: 'overview', refreshSeconds: 30 }), body);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/workloads', async (req, reply) => {
    const q = req.query;
    let node = optional(q.node, NODE, 'node must be a SPIFFE ID');
    const text = (q.q ?? '').trim().slice(0, 2048);
    const expiring = oneOf(q.expiring ?? '', ['', ...Object.keys(EXPIRING)], 'expiring');
    const status = oneOf(q.status ?? 'live', ['live', 'all'], 'status') as 'live' | 'all';
    const cursor = optional(q.cursor, /^[A-Za-z0-9_-]{1,512}$/, 'cursor is not one this server returned');
    let search: { kind: 'serial'; serial: string } | { kind: 'dns'; name: string } | undefined;
    if (text.startsWith('spiffe://')) {
      node = text.replace(/\/+$/, '');
      if (!NODE.test(node)) throw new BadRequest(`${text} is not a SPIFFE ID`);
    } else if (/^(?:[0-9a-fA-F]{2}:?){8,20}$/.test(text)) {
      search = { kind: 'serial', serial: normalizeSerial(text.replace(/:/g, '')) };
    } else if (text !== '') {
      search = { kind: 'dns', name: text.toLowerCase() };
    }
    const listing = node !== null || search !== undefined || expiring !== '';
    const [children, certificates] = await Promise.all([
      search === undefined ? deps.dashboard.tree(node) : Promise.resolve([]),
      listing
        ? deps.dashboard.certificates({
            ...(node !== null && { under: node }),
            ...(search && { search }),
            ...(expiring !== '' && { expiringWithinSeconds: EXPIRING[expiring]! }),
            status,
            limit: PAGE_SIZE,
            ...(cursor !== null && { cursor }),
          })
        : Promise.resolve(null),
    ]);
    const next = certificates?.next_cursor
      ? query(`${UI_PREFIX}/workloads`, {
          node: text.startsWith('spiffe://') ? undefined : node,
          q: text,
          expiring,
          status,
          cursor: certificates.next_cursor,
        })
      : null;
    const f = frame(req, 'Workloads', { active: 'workloads' });
    return send(reply, 200, f, workloadsBody({ node, children, q: text, expiring, status, certificates, csrf: f.csrf!, now: new Date(now()) }, next));
  });

  app.get<{ Params: { serial: string } }>('/certificates/:serial', async (req, reply) => {
    if (!/^[0-9a-fA-F]{1,40}$/.test(req.params.serial)) throw new BadRequest('a serial is hexadecimal');
    const [c] = await deps.inventory.getCertificate(normalizeSerial(req.params.serial));
    if (!c) return send(reply, 404, frame(req, 'Not found', { active: 'workloads' }), errorBody(`No certificate with serial ${req.params.serial}.`));
    const f = frame(req, `Certificate ${c.serial.slice(0, 16)}…`, { active: 'workloads' });
    return send(reply, 200, f, certificateBody(c, f.csrf!, new Date(now())));
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/refusals', async (req, reply) => {
    const window = oneOf(req.query.window ?? '24h', Object.keys(WINDOWS), 'window');
    const { groups, series } = await deps.dashboard.refusalGroups(WINDOWS[window]!);
    return send(reply, 200, frame(req, 'Refusals', { active: 'refusals' }), refusalsBody(window, WINDOWS[window]!, groups, series, new Date(now())));
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/refusals/events', async (req, reply) => {
    const window = oneOf(req.query.window ?? '24h', Object.keys(WINDOWS), 'window');
    const rule = required(req.query.rule, /^.{1,256}$/s, 'rule');
    const code = required(req.query.code, /^[a-z0-9-]{1,64}$/, 'code');
    const cursor = optional(req.query.cursor, /^[A-Za-z0-9_-]{1,512}$/, 'cursor is not one this server returned');
    const events = await deps.dashboard.refusalEvents(rule, code, WINDOWS[window]!, PAGE_SIZE, cursor ?? undefined);
    const next = events.next_cursor ? query(`${UI_PREFIX}/refusals/events`, { rule, code, window, cursor: events.next_cursor }) : null;
    return send(reply, 200, frame(req, 'Refusal events', { active: 'refusals' }), refusalEventsBody(rule, code, window, events, next));
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/policy', async (req, reply) => {
    const window = oneOf(req.query.window ?? '24h', Object.keys(WINDOWS), 'window');
    const hits = await deps.dashboard.ruleHits(WINDOWS[window]!);
    return send(reply, 200, frame(req, 'Policy', { active: 'policy' }), policyBody(deps.policy.current, deps.policy.loadedAt, window, hits));
  });

  // Counting and revoking are the operator revocation module's, as for POST /v1/admin/revocations.
  const revokedBy = (req: FastifyRequest, note: string): OperatorRevocation['revokedBy'] => ({
    kind: 'operator',
    via: 'admin-api',
    requestedBy: `dashboard session ${sessions.get(req)!.id.slice(0, 8)}${note ? `: ${note}` : ''}`,
    client: req.ip,
  });
  const wouldRevoke = async (req: FastifyRequest, s: UiSelection, reason: number, note: string): Promise<number> => {
    let n = 0;
    for (const selector of selectorsOf(s)) {
      const ledger = { reader: deps.inventory, revocations: deps.revocations, now: now() };
      n += (await operatorDryRun(ledger, { selector, reason, revokedBy: revokedBy(req, note) }, req.log)).wouldRevoke;
    }
    return n;
  };

  app.post<{ Body: Form }>('/revoke/preview', async (req, reply) => {
    const selection = selectionOf(req.body);
    const found = await wouldRevoke(req, selection, 0, '');
    const f = frame(req, 'Confirm revocation', { active: 'workloads' });
    return send(reply, 200, f, confirmBody(selection, found, f.csrf!));
  });

  app.post<{ Body: Form }>('/revoke', async (req, reply) => {
    const selection = selectionOf(req.body);
    const expected = Number(required(req.body.expected, /^\d{1,9}$/, 'expected'));
    const reason = Number(required(req.body.reason, /^\d{1,2}$/, 'reason'));
    if (!(REVOCATION_REASONS as readonly number[]).includes(reason)) throw new BadRequest(`reason ${reason} is not a CRL reason code`);
    const note = (req.body.note ?? '').slice(0, 200);
    const found = await wouldRevoke(req, selection, reason, note);
    const f = frame(req, 'Confirm revocation', { active: 'workloads' });
    // More than was confirmed: certificates were issued since. Ask again rather than revoke them unseen.
    if (found > expected) return send(reply, 409, f, confirmBody(selection, found, f.csrf!, expected));
    const serials: string[] = [];
    for (const selector of selectorsOf(selection)) {
      const ledger = { store: deps.store, reader: deps.inventory, revocations: deps.revocations, now: now() };
      serials.push(...(await operatorRevoke(ledger, { selector, reason, revokedBy: revokedBy(req, note) }, req.log)).serials);
    }
    return send(reply, 200, frame(req, 'Revoked', { active: 'workloads' }), revokedBody(selection, serials));
  });
}

/** A node of the SPIFFE ID tree: a trust domain, or an ID under it; no trailing slash. */
const NODE = /^spiffe:\/\/[a-z0-9._-]+(\/[^/\s]+)*$/;
const WORKLOAD_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[^/\s]+)+$/;

/**
 * Whether a POST comes from a page of this origin. Browsers name the origin, except that under
 * `Referrer-Policy: no-referrer` (ours) Chromium sends `Origin: null`; then Fetch Metadata, which
 * browsers set and scripts cannot, says whether it is same-origin. A client sending neither (curl,
 * a script) is not a dashboard page.
 */
export function fromThisOrigin(origin: string | undefined, host: string | undefined, fetchSite: string | string[] | undefined): boolean {
  if (origin !== undefined && origin !== 'null') return host !== undefined && origin === `https://${host}`;
  return fetchSite === 'same-origin';
}

function optional(v: string | undefined, re: RegExp, message: string): string | null {
  if (v === undefined || v === '') return null;
  if (v.length > 2048 || !re.test(v)) throw new BadRequest(message);
  return v;
}

function required(v: string | undefined, re: RegExp, name: string): string {
  const value = optional(v, re, `${name} is missing or malformed`);
  if (value === null) throw new BadRequest(`${name} is missing or malformed`);
  return value;
}

function oneOf(v: string, allowed: readonly string[], name: string): string {
  if (!allowed.includes(v)) throw new BadRequest(`${name} must be one of ${allowed.filter(Boolean).join(', ')}`);
  return v;
}

function selectionOf(form: Form | undefined): UiSelection {
  const f = form ?? {};
  const given = (['serial', 'spiffeId', 'subtree'] as const).filter((k) => f[k] !== undefined && f[k] !== '');
  if (given.length !== 1) throw new BadRequest('choose one certificate, SPIFFE ID or subtree');
  if (given[0] === 'serial') return { serial: normalizeSerial(required(f.serial, /^[0-9a-fA-F]{1,40}$/, 'serial')) };
  if (given[0] === 'spiffeId') return { spiffeId: required(f.spiffeId, WORKLOAD_ID, 'spiffeId') };
  return { subtree: required(f.subtree, NODE, 'subtree') };
}

/**
 * The operator revocation selectors a selection stands for. A subtree is its prefix (whole path
 * segments, so ns/pay never takes ns/payments) and, below a trust domain, the node's own ID.
 */
function selectorsOf(s: UiSelection): Selector[] {
  if ('serial' in s) return [{ serial: s.serial }];
  if ('spiffeId' in s) return [{ spiffeId: s.spiffeId }];
  const prefix: Selector = { spiffeIdPrefix: `${s.subtree}/` };
  return WORKLOAD_ID.test(s.subtree) ? [prefix, { spiffeId: s.subtree }] : [prefix];
}

async function readServerMetrics(metrics: UiDeps['metrics'], req: FastifyRequest): Promise<MetricsFigures | null> {
  try {
    return readMetrics((await metrics()).body);
  } catch (err) {
    req.log.warn({ err }, 'dashboard: metrics unreadable');
    return null;
  }
}
