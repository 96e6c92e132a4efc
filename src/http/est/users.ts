// HTTP Basic bootstrap credentials for EST (RFC 7030 §3.2.3), stored as scrypt hashes in a JSON
// file that `workload-ca est user add|remove|list` manages and every serving process reads.
//
// The file is re-read when it changes, so adding a user needs no restart. A wrong password and an
// unknown user cost the same scrypt work, so response times do not reveal which names exist.
//
// scrypt is slow on purpose and runs on libuv's thread pool, which TLS-free work such as file and
// DNS calls shares: hashes go through a small queue of their own (passwordHashConcurrency), so a
// burst of password logins waits for itself and never for, or ahead of, requests that need no hash.
// A credential that verified is remembered for a while (VerifiedCredentials), so a gateway that
// enrolls again does not pay the hash again.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { VerifiedCredentials } from './verified-credentials.js';

/** 32 MiB of memory and ~50 ms per hash on the development machine: costly to guess offline. */
const PARAMS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** One path segment, so a user name can be substituted into a SPIFFE ID template. */
export const USER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

interface UsersDocument {
  readonly version: 1;
  readonly users: Record<string, { readonly hash: string; readonly created: string }>;
}

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash`, base64; the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: 128 * PARAMS.N * PARAMS.r * 2 });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every(Number.isSafeInteger) || N > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return timingSafeEqual(key, expected);
}

export interface BasicUsersOptions {
  /** How long a verified credential is accepted again without hashing; 0 hashes every time. */
  readonly cacheSeconds: number;
  /** scrypt computations at once in this process. */
  readonly hashConcurrency: number;
  readonly now?: () => number;
}

/** Enough for every gateway of a large fleet; the least recently verified go first beyond it. */
const CACHE_ENTRIES = 10_000;

/** What the serving process uses: verification against the current file. */
export class BasicUsers {
  /** inode, mtime and size: a rename (how the file is written) changes the inode. */
  private loadedVersion = '';
  private users: UsersDocument['users'] = {};
  /** Verified in place of a missing user, so that both cost one scrypt. */
  private decoy: Promise<string> | null = null;
  private readonly verified: VerifiedCredentials;
  private readonly hashing: LimitFunction;
  /** Hashes under way, by credential: 64 gateways sending the same one at once pay one scrypt. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** scrypt verifications run so far (decoys included): what the memory of verified credentials saves. */
  hashed = 0;

  constructor(
    private readonly file: string,
    options: BasicUsersOptions = { cacheSeconds: 0, hashConcurrency: 1 },
  ) {
    this.verified = new VerifiedCredentials({ ttlMs: options.cacheSeconds * 1000, maxEntries: CACHE_ENTRIES, now: options.now });
    this.hashing = pLimit(options.hashConcurrency);
  }

  async verify(name: string, password: string): Promise<boolean> {
    this.refresh();
    const entry = USER_NAME.test(name) && Object.hasOwn(this.users, name) ? this.users[name]! : null;
    if (entry === null) {
      this.decoy ??= this.hashing(() => hashPassword(randomBytes(16).toString('hex')));
      const decoy = await this.decoy;
      await this.hashing(() => this.slowVerify(password, decoy));
      return false;
    }
    // Keyed by the stored hash too: after a password change or a re-add the entry no longer matches.
    if (this.verified.holds(name, password, entry.hash)) return true;
    // The same inputs give the same answer, so a verification already under way is shared.
    const id = `${this.verified.idOf(name, password)}|${entry.hash}`;
    let pending = this.inFlight.get(id);
    if (pending === undefined) {
      pending = this.hashing(() => this.slowVerify(password, entry.hash)).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    const ok = await pending;
    if (ok) this.verified.remember(name, password, entry.hash);
    return ok;
  }

  private slowVerify(password: string, encoded: string): Promise<boolean> {
    this.hashed++;
    return verifyPassword(password, encoded);
  }

  /** Hashes waiting for their turn (for tests and metrics). */
  get hashesQueued(): number {
    return this.hashing.pendingCount;
  }

  private refresh(): void {
    let version: string;
    try {
      const st = statSync(this.file);
      version = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      this.users = {};
      this.loadedVersion = '';
      return;
    }
    if (version === this.loadedVersion) return;
    this.users = readUsers(this.file).users;
    this.loadedVersion = version;
  }
}

export function readUsers(file: string): UsersDocument {
  if (!existsSync(file)) return { version: 1, users: {} };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<UsersDocument>;
  if (doc.version !== 1 || typeof doc.users !== 'object' || doc.users === null) {
    throw new Error(`${file} is not an EST users file (version 1)`);
  }
  return { version: 1, users: doc.users };
}

/** Replaces the file atomically (write, then rename), mode 0600: it holds password hashes. */
function writeUsers(file: string, doc: UsersDocument): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export type UserChange = { readonly ok: true; readonly replaced: boolean } | { readonly ok: false; readonly reason: string };

export async function addUser(file: string, name: string, password: string): Promise<UserChange> {
  if (!USER_NAME.test(name)) return { ok: false, reason: 'a user name is 1-128 letters, digits, ".", "-" or "_"' };
  if (password.length < 12) return { ok: false, reason: 'the password must be at least 12 characters' };
  const doc = readUsers(file);
  const replaced = Object.hasOwn(doc.users, name);
  const users = { ...doc.users, [name]: { hash: await hashPassword(password), created: new Date().toISOString() } };
  writeUsers(file, { version: 1, users });
  return { ok: true, replaced };
}

export function removeUser(file: string, name: string): UserChange {
  const doc = readUsers(file);
  if (!Object.hasOwn(doc.users, name)) return { ok: false, reason: `no EST user ${JSON.stringify(name)}` };
  const users = { ...doc.users };
  delete users[name];
  writeUsers(file, { version: 1, users });
  return { ok: true, replaced: true };
}
