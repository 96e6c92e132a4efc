// Production: revocations cross replicas on one Redis pub/sub channel under the configured key
// prefix. Pub/sub delivers only to those listening at the moment, so it is the fast path, not the
// record: Postgres is, and the periodic reconcile catches whatever a replica missed.

import { Redis } from 'ioredis';
import type { RevocationFeed } from './feed.js';
import { parseRevoked, type Revoked } from './set.js';

export const revocationChannel = (prefix: string): string => `${prefix}:revocations`;

export class RedisRevocationFeed implements RevocationFeed {
  /** A subscribed connection can issue no other command, so publishing has its own. */
  private readonly subscriber: Redis;
  private readonly publisher: Redis;
  private readonly channel: string;

  constructor(
    url: string,
    prefix: string,
    private readonly warn: (message: string) => void,
  ) {
    this.channel = revocationChannel(prefix);
    this.subscriber = new Redis(url, { connectTimeout: 2_000 });
    this.publisher = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
    // Reconnection is ioredis's; an error event unheard would crash the process.
    this.subscriber.on('error', (err: Error) => this.warn(`revocation feed: ${err.message}`));
    this.publisher.on('error', (err: Error) => this.warn(`revocation feed: ${err.message}`));
  }

  async subscribe(deliver: (r: Revoked) => void, resync: () => void): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let parsed: ReturnType<typeof parseRevoked>;
      try {
        parsed = parseRevoked(JSON.parse(message));
      } catch {
        parsed = { ok: false, reason: 'not JSON' };
      }
      if (parsed.ok) deliver(parsed.revoked);
      else this.warn(`revocation feed: ignored a message on ${this.channel}: ${parsed.reason}`);
    });
    await this.subscriber.subscribe(this.channel);
    // Connected by now, so any later 'ready' is a reconnect: ioredis resubscribes, but what was
    // published in between is lost.
    this.subscriber.on('ready', resync);
  }

  async publish(r: Revoked): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(r));
  }

  listening(): boolean {
    return this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => undefined);
  }
}
