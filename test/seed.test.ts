import { afterEach, describe, expect, it, vi } from 'vitest';
import { SubscriberPool } from '../load/worker/pool.js';
import type { ScenarioContext, TargetHandle } from '../run/scenario.js';
import { startPool } from '../scenarios/pool-run.js';
import { seededRandom } from '../core/random.js';
import { reconnectDelayMs } from '../clients/reconnect.js';
import { detailsOf } from '../core/details.js';
import { FAULTS_RECONNECT_MAX_MS } from '../scenarios/faults.js';
import { outRoot, runJson } from './support/cli.js';

afterEach(() => vi.restoreAllMocks());
const outDir = outRoot();

/** What startPool reads from a context; the rest of a run is not needed to see where the seed goes. */
function contextWithSeed(seed: number): ScenarioContext {
  const target = { ref: { name: 'reference' }, context: { baseUrl: 'http://127.0.0.1:1' } } as unknown as TargetHandle;
  return { transport: 'ws', target, seed, runId: 'r', reconnect: { baseMs: 100, maxMs: 5000 }, machine: null, agents: null } as unknown as ScenarioContext;
}

describe('--seed', () => {
  it("reaches every pooled subscriber thread (ramp, soak, throughput and faults draw their reconnect waits from it)", () => {
    const start = vi.spyOn(SubscriberPool, 'start').mockReturnValue({ onProtocols: () => {} } as unknown as SubscriberPool);
    startPool(contextWithSeed(7), 2, null);
    startPool(contextWithSeed(8), 2, null);
    expect(start.mock.calls.map(([, init]) => init.seed)).toEqual([7, 8]);
  });
});

/**
 * When the subscriber of a one-connection faults run, refused for `outageMs`, tries again: the waits
 * its thread draws from the seed (the cut before the outage draws the first). Worker 0 of a pool
 * draws from the run's seed itself.
 */
function outageSchedule(seed: number, outageMs: number): { failures: number; recoveredAtMs: number } {
  const random = seededRandom(seed);
  const policy = { baseMs: 100, maxMs: FAULTS_RECONNECT_MAX_MS };
  reconnectDelayMs(policy, 0, random);
  let atMs = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    atMs += reconnectDelayMs(policy, attempt, random);
    if (atMs >= outageMs) return { failures: attempt, recoveredAtMs: atMs };
  }
  throw new Error('no attempt after the outage');
}

describe('--seed end to end', () => {
  const outageMs = 1000;
  const faultsRun = async (seed: number) => {
    const summary = await runJson(['faults', '--transport', 'ws', '--modes', 'on', '--connections', '1', '--window', '3s', '--outage', `${outageMs}ms`, '--seed', String(seed), '--out', outDir(`seed-${seed}`)]);
    const outage = detailsOf(summary.transports[0]!, 'faults')!.faults.find((row) => row.fault === 'outage')!;
    return { failures: outage.failedReconnects, recoveryMs: outage.recoveryMs };
  };

  it('two faults runs with one seed reconnect on one schedule; with another seed, on another', async () => {
    // Seeds whose schedules differ: 3 refused attempts then one at about 1.09 s, against 4 and about 1.22 s.
    const one = outageSchedule(1, outageMs);
    const other = outageSchedule(3, outageMs);
    expect(one.failures).not.toBe(other.failures);
    const first = await faultsRun(1);
    const again = await faultsRun(1);
    const third = await faultsRun(3);
    for (const [run, expected] of [[first, one], [again, one], [third, other]] as const) {
      expect(run.failures).toBe(expected.failures);
      // Recovery also holds the cut's detection and the new connection: a few milliseconds.
      expect(run.recoveryMs).toBeGreaterThanOrEqual(expected.recoveredAtMs - 5);
      expect(run.recoveryMs).toBeLessThan(expected.recoveredAtMs + 60);
    }
  }, 180_000);
});
