// The keeper's own health: what /readyz reports so a replica that can no longer hear about
// revocations leaves rotation.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startRevocations } from '../../src/revocation/keeper.js';
import { PrimaryRevocationFeed } from '../../src/revocation/ipc-feed.js';
import { RedisRevocationFeed } from '../../src/revocation/redis-feed.js';
import type { Revoked } from '../../src/revocation/set.js';
import { freePort } from '../support/infra.js';

const revoked: Revoked = { issuerKeyId: 'ab'.repeat(20), serial: '01', notAfter: null };

test('healthy while reconciles succeed; not ready once two and a half periods pass without one', async () => {
  let clock = 1_000_000;
  let failing = false;
  const warnings: string[] = [];
  const keeper = await startRevocations({
    source: {
      list: async () => {
        if (failing) throw new Error('connection refused');
        return [revoked];
      },
    },
    feed: new PrimaryRevocationFeed(),
    warn: (m) => warnings.push(m),
    reconcileMs: 60_000,
    now: () => clock,
  });
  try {
    assert.equal(keeper.isRevoked(revoked.issuerKeyId, revoked.serial), true, 'loaded before it resolves');
    assert.deepEqual(keeper.health(), { ok: true, detail: 'revocations current' });
    failing = true;
    clock += 120_000;
    assert.equal(keeper.health().ok, true, 'two periods is still within the grace');
    clock += 31_000;
    const stale = keeper.health();
    assert.equal(stale.ok, false);
    assert.match(stale.detail, /last reconciled 151 s ago/);
  } finally {
    await keeper.close();
  }
});

test('a Redis feed that cannot reach Redis says it is not listening', async () => {
  const port = await freePort();
  const warnings: string[] = [];
  const feed = new RedisRevocationFeed(`redis://127.0.0.1:${port}`, 'wlca-keeper-test', (m) => warnings.push(m));
  try {
    assert.equal(feed.listening(), false);
  } finally {
    await feed.close();
  }
});

test('a Redis feed that is subscribed says it is listening', async () => {
  const feed = new RedisRevocationFeed('redis://127.0.0.1:6379', `wlca-keeper-${process.pid}`, () => undefined);
  try {
    await feed.subscribe(
      () => undefined,
      () => undefined,
    );
    assert.equal(feed.listening(), true);
  } finally {
    await feed.close();
  }
});
