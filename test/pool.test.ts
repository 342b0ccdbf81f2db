import { describe, expect, it } from 'vitest';
import { SubscriberPool } from '../load/worker/pool.js';
import { subscriberSpecs } from '../scenarios/pool-run.js';
import { referenceTarget, testCleanup, waitFor } from './helpers.js';

const cleanup = testCleanup();

/** Two worker threads holding WebSocket subscriptions on a built-in server of the test's own. */
async function wsPool(room: string): Promise<SubscriberPool> {
  const url = await cleanup.server();
  const pool = SubscriberPool.start(2, {
    transport: 'ws',
    profile: { builtIn: 'reference' },
    target: referenceTarget(url, 'ws'),
    provisioned: { rooms: [room] },
    reconnect: { baseMs: 10, maxMs: 100 },
    seed: 1,
    localAddresses: [],
    runId: room,
    deadlineUs: 1_000_000,
  });
  cleanup.add(() => pool.close());
  return pool;
}

describe('SubscriberPool live counters and thread health', () => {
  it('counts the connections a connect opened as soon as it resolves, not at the next 500 ms tick', async () => {
    const pool = await wsPool('pool-live');
    expect(pool.live().connected).toBe(0);
    const connect = await pool.connect(subscriberSpecs(0, 30, 1), 10);
    expect(connect.ok).toBe(30);
    // Read in the same turn the connect resolved in: no tick can have arrived in between.
    expect(pool.live().connected).toBe(30);
    await pool.connect(subscriberSpecs(30, 40, 1), 10);
    expect(pool.live().connected).toBe(40);
  });

  it("reports the workers' garbage-collection pauses, which V8 tells them of, in the thread health", async () => {
    const pool = await wsPool('pool-gc');
    pool.takeHealth();
    // The heap figure is taken after a full GC in every worker: a pause each of them observes.
    const heap = await pool.heapAfterGc();
    expect(heap.usedBytes).toBeGreaterThan(0);
    // Resident memory holds at least what is in use.
    expect(heap.localResidentBytes).toBeGreaterThanOrEqual(heap.usedBytes);
    // The pool reads each worker's shared counters every 500 ms; takeHealth starts over on every reading.
    await waitFor(() => pool.takeHealth().gcPauseUsMax > 0, "a worker's GC pause in its tick", 5000);
  });

  it("reports the workers' event-loop utilisation in the thread health", async () => {
    const pool = await wsPool('pool-utilization');
    await pool.connect(subscriberSpecs(0, 20, 1), 10);
    pool.takeHealth();
    let utilizationMax = 0;
    await waitFor(() => (utilizationMax = pool.takeHealth().utilizationMax) > 0, "a worker's utilisation", 5000);
    expect(utilizationMax).toBeLessThanOrEqual(1);
  });
});
