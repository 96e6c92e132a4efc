// SharedState in Redis, so that every replica sees the same nonces and counters.

import { Redis } from 'ioredis';
import type { SharedState } from './shared-state.js';

export class RedisSharedState implements SharedState {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    // Bounded waits rather than queueing while Redis is away: a request waiting on a nonce check
    // should get an error it can retry, not hang.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
    this.redis.on('error', () => {
      /* reported through failed commands */
    });
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const r = await this.redis.set(this.k(key), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return r === 'OK';
  }

  async increment(key: string, windowMs: number): Promise<number> {
    // The expiry is set only by the command that creates the key, so the window is fixed from
    // the first event rather than sliding with every one.
    const r = await this.redis
      .multi()
      .set(this.k(key), '0', 'PX', Math.max(1, Math.ceil(windowMs)), 'NX')
      .incr(this.k(key))
      .exec();
    const incr = r?.[1];
    if (!incr || incr[0]) throw incr?.[0] ?? new Error('redis transaction was aborted');
    return Number(incr[1]);
  }

  async count(key: string): Promise<number> {
    return Number((await this.redis.get(this.k(key))) ?? 0);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private k(key: string): string {
    return `${this.prefix}:acme:${key}`;
  }
}
