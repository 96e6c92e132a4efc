// Dashboard sessions without shared memory: the cookie carries its own expiry and id, signed with
// HMAC-SHA256, so any replica or worker holding the session key can check it and none has to
// remember it. The signing key mixes in a digest of the admin token, so rotating the admin token
// ends every session signed before.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'wlca_session';
const VERSION = 'v1';

export interface Session {
  /** Random, per sign-in: what the CSRF token and the log lines name. */
  readonly id: string;
  /** Unix seconds. */
  readonly expires: number;
}

export type SessionCheck =
  { readonly ok: true; readonly session: Session } | { readonly ok: false; readonly why: 'absent' | 'malformed' | 'bad-signature' | 'expired' };

const b64 = (b: Buffer): string => b.toString('base64url');

export class SessionCodec {
  private readonly key: Buffer;

  /** `secret`: the session key file's bytes; `adminToken`: the credential sessions stand for. */
  constructor(
    secret: Buffer,
    adminToken: string,
    readonly lifetimeSeconds: number,
  ) {
    const tokenDigest = createHash('sha256').update(adminToken).digest();
    this.key = createHmac('sha256', secret).update('workload-ca dashboard session\0').update(tokenDigest).digest();
  }

  issue(nowMs: number): { cookie: string; session: Session } {
    const session: Session = { id: b64(randomBytes(16)), expires: Math.floor(nowMs / 1000) + this.lifetimeSeconds };
    const payload = `${VERSION}.${session.expires}.${session.id}`;
    return { cookie: `${payload}.${this.mac(payload)}`, session };
  }

  check(cookie: string | undefined, nowMs: number): SessionCheck {
    if (cookie === undefined || cookie === '') return { ok: false, why: 'absent' };
    const m = /^(v1\.(\d{1,12})\.([A-Za-z0-9_-]{22}))\.([A-Za-z0-9_-]{43})$/.exec(cookie);
    if (!m) return { ok: false, why: 'malformed' };
    const expected = Buffer.from(this.mac(m[1]!));
    const given = Buffer.from(m[4]!);
    if (!timingSafeEqual(expected, given)) return { ok: false, why: 'bad-signature' };
    const expires = Number(m[2]);
    // A valid signature with an expiry further out than a session may last was not made here.
    const now = Math.floor(nowMs / 1000);
    if (expires <= now || expires > now + this.lifetimeSeconds) return { ok: false, why: 'expired' };
    return { ok: true, session: { id: m[3]!, expires } };
  }

  /** The anti-CSRF token of a session: derived, so nothing has to be stored. */
  csrfToken(session: Session): string {
    return this.mac(`csrf.${session.id}`);
  }

  checkCsrf(session: Session, given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(this.csrfToken(session));
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private mac(payload: string): string {
    return b64(createHmac('sha256', this.key).update(payload).digest());
  }
}

/** Reads one cookie from a Cookie header (RFC 6265 syntax; the last of duplicates wins nothing: first). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}
