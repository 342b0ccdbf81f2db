import { afterEach, describe, expect, it, vi } from 'vitest';
import { SubscriberPool } from '../load/worker/pool.js';
import type { ScenarioContext, TargetHandle } from '../run/scenario.js';
import { startPool } from '../scenarios/pool-run.js';

afterEach(() => vi.restoreAllMocks());

/** What startPool reads from a context; the rest of a run is not needed to see where the seed goes. */
function contextWithSeed(seed: number): ScenarioContext {
  const target = { ref: { name: 'reference' }, context: { baseUrl: 'http://127.0.0.1:1' } } as unknown as TargetHandle;
  return { transport: 'ws', target, seed, runId: 'r', clientContext: { reconnect: { initialMs: 100, maxMs: 5000 } }, machine: null, agents: null } as unknown as ScenarioContext;
}

describe('--seed', () => {
  it("reaches every pooled subscriber thread (ramp, soak, throughput and faults draw their reconnect waits from it)", () => {
    const start = vi.spyOn(SubscriberPool, 'start').mockReturnValue({} as SubscriberPool);
    startPool(contextWithSeed(7), 2, null);
    startPool(contextWithSeed(8), 2, null);
    expect(start.mock.calls.map(([, init]) => init.seed)).toEqual([7, 8]);
  });
});
