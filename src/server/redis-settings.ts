// The audit queue is only as durable as Redis: without persistence a Redis restart loses the
// events not yet in the ledger, and with eviction Redis may drop them under memory pressure.

import { Redis } from 'ioredis';

export async function checkRedisDurability(url: string): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const warnings: string[] = [];
    if (appendonly !== 'yes') {
      warnings.push('Redis persistence (appendonly) is off: audit events waiting for the ledger are lost if Redis restarts; set appendonly yes');
    }
    if (policy !== 'noeviction') {
      warnings.push(`Redis maxmemory-policy is ${policy}: audit events may be evicted under memory pressure; set maxmemory-policy noeviction`);
    }
    return warnings;
  } catch (err) {
    return [`could not check Redis persistence settings (${(err as Error).message}); make sure appendonly is yes and maxmemory-policy is noeviction`];
  } finally {
    redis.disconnect();
  }
}
