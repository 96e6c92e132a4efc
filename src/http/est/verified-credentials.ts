// Remembers HTTP Basic credentials that verified, so a gateway that enrolls again within a few
// minutes (over a new connection, on any route) does not pay scrypt again.
//
// What is kept is an HMAC of the user name and password under a key made at random when the
// process starts and never written anywhere: the map holds no password, nor anything that could
// be checked against a guess offline once the process is gone. Each entry also holds the stored
// hash it was verified against, so a changed password or a removed user misses the cache and is
// decided from the users file again. Only successes are remembered; a wrong password always takes
// the slow path, and it cannot collide with a remembered success short of breaking HMAC-SHA256.

import { createHmac, randomBytes } from 'node:crypto';

export interface VerifiedCredentialsOptions {
  /** How long a verification is trusted without hashing again. */
  readonly ttlMs: number;
  /** Entries kept at most; the oldest goes first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

interface Entry {
  /** The user's stored hash at the time: a different one means the password changed. */
  readonly storedHash: string;
  readonly expiresAt: number;
}

export class VerifiedCredentials {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: VerifiedCredentialsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True when this exact name and password verified against `storedHash` within the TTL. */
  holds(name: string, password: string, storedHash: string): boolean {
    const id = this.idOf(name, password);
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (entry.expiresAt <= this.now() || entry.storedHash !== storedHash) {
      this.entries.delete(id);
      return false;
    }
    return true;
  }

  /** Call only after the slow verification succeeded. */
  remember(name: string, password: string, storedHash: string): void {
    if (this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    const id = this.idOf(name, password);
    // Re-inserting moves the entry to the end, so the eviction below drops the least recently verified.
    this.entries.delete(id);
    while (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { storedHash, expiresAt: this.now() + this.options.ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Exposed for tests: what the map is keyed by. */
  idOf(name: string, password: string): string {
    // Length-prefixed, so no (name, password) pair can be re-split into another.
    return createHmac('sha256', this.key)
      .update(`${Buffer.byteLength(name)}:${name}`)
      .update(password)
      .digest('base64url');
  }
}
