import { describe, expect, it } from 'vitest';
import { SubscriberPool } from '../engine/worker/pool.js';
import { subscriberSpecs } from '../scenarios/pool-run.js';
import { referenceTarget, testCleanup } from './helpers.js';

const cleanup = testCleanup();

describe('SubscriberPool live counters', () => {
  it('counts the connections a connect opened as soon as it resolves, not at the next 500 ms tick', async () => {
    const url = await cleanup.server();
    const pool = SubscriberPool.start(2, {
      transport: 'ws',
      profile: { builtIn: 'reference' },
      target: referenceTarget(url, 'ws'),
      provisioned: { rooms: ['pool-live'] },
      reconnect: { baseMs: 10, maxMs: 100 },
      seed: 1,
      localAddresses: [],
      runId: 'pool-live',
      deadlineUs: 1_000_000,
    });
    cleanup.add(() => pool.close());
    expect(pool.live().connected).toBe(0);
    const connect = await pool.connect(subscriberSpecs(0, 30, 1), 10);
    expect(connect.ok).toBe(30);
    // Read in the same turn the connect resolved in: no tick can have arrived in between.
    expect(pool.live().connected).toBe(30);
    await pool.connect(subscriberSpecs(30, 40, 1), 10);
    expect(pool.live().connected).toBe(40);
  });
});
