// The little state that ACME replicas share outside Postgres: which nonces have been used and how
// many times an account did something this hour. Redis holds it in production; in the embedded
// mode the primary process does, and workers reach it over IPC.

export interface SharedState {
  /** True the first time `key` is claimed within `ttlMs`, false ever after (until it expires). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Adds one to the counter `key` that lives `windowMs` from its first use; returns the new count. */
  increment(key: string, windowMs: number): Promise<number>;
  /** The counter's current value, 0 when absent. */
  count(key: string): Promise<number>;
  close(): Promise<void>;
}

export const SHARED_STATE_METHODS = ['claimOnce', 'increment', 'count'] as const;

/** One process's memory: the embedded mode's primary, or a single-process server. */
export class MemorySharedState implements SharedState {
  private readonly entries = new Map<string, { value: number; expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Expired keys are dropped in the background so that memory follows the live nonce count.
    this.sweeper = setInterval(() => this.sweep(), 30_000).unref();
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    this.entries.set(key, { value: 1, expires: this.now() + ttlMs });
    return true;
  }

  async increment(key: string, windowMs: number): Promise<number> {
    const e = this.live(key);
    if (e === undefined) {
      this.entries.set(key, { value: 1, expires: this.now() + windowMs });
      return 1;
    }
    e.value++;
    return e.value;
  }

  async count(key: string): Promise<number> {
    return this.live(key)?.value ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private live(key: string): { value: number; expires: number } | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.expires > this.now()) return e;
    this.entries.delete(key);
    return undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }
}
