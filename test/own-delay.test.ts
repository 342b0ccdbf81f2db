import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import type { TransportResult } from '../core/result.js';
import { startServer, testCleanup } from './helpers.js';
import { outRoot, runJson } from './support/cli.js';
import { detailsOf } from '../core/details.js';

const cleanup = testCleanup();
const outDir = outRoot();
const SLOW = join(packageRoot, 'test', 'fixtures', 'profiles', 'slow-reader.mjs');

type StepGenerator = { ownDelayUs: number | null; ownDelayLongestUs: number; ownDelayShareOfP99: number | null; saturated: boolean; saturationReasons: readonly string[] };

/**
 * 20 subscribers in one thread, each frame costing the client 8 ms to handle: handling a fan-out
 * takes 160 ms. Reads are stamped before handling, and handling yields to the sockets between
 * messages, so no stamp waits for more than the one handling under way (about 8 ms), not for the 152
 * ms of handling before the last subscriber's turn; the bound must say that much, and that it is a
 * large share of the p99 it is part of. In a burst and in a ramp step (each in a subscriber
 * thread); the same run without the slow reader must show a small fraction of it.
 */
describe("the generator's own timestamping delay", () => {
  it('is measured, bounded and called saturation when a slow receive path inflates p99', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const burst = ['burst', '--target', url, '--transport', 'ws', '--subscribers', '20', '--bursts', '20', '--burst-size', '1', '--pause', '200ms'];
    const slow = (await runJson([...burst, '--profile', SLOW, '--out', outDir('slow')])).transports[0] as TransportResult;
    const fast = (await runJson([...burst, '--out', outDir('fast')])).transports[0] as TransportResult;
    expect(slow.messages).toMatchObject({ expected: 400, received: 400, lost: 0 });
    // One handling of 8 ms at most: the bound sees it, and stays below the fan-out's 152 ms of handling
    // before its last subscriber (the bound also holds any time the machine took the CPU away
    // mid-turn, so it is held well under 152 ms, not near 8).
    expect(slow.generator.ownDelayUsMax).toBeGreaterThanOrEqual(6_000);
    expect(slow.generator.ownDelayP99Us).toBeGreaterThanOrEqual(6_000);
    expect(slow.generator.ownDelayUsMax).toBeLessThan(100_000);
    // Stamped after handling, the last of each fan-out would read 152 ms or more.
    expect(slow.latencyUs.perMessage.p99).toBeLessThan(100_000);
    expect(slow.generator.ownDelayP99Us).toBeLessThanOrEqual(slow.generator.ownDelayUsMax!);
    expect(slow.generator.saturated).toBe(true);
    expect(slow.generator.saturationReasons.join(' ')).toMatch(/the generator's own reads and handling may have stamped/);
    // Without the slow reader the same run's bound is a small fraction of it.
    expect(fast.generator.ownDelayP99Us).not.toBeNull();
    // (Well under it, not a fixed fraction: on a busy 2-core machine a plain run's bound reaches a
    // few ms too, the time the machine held the thread mid-turn.)
    expect(fast.generator.ownDelayP99Us!).toBeLessThan(slow.generator.ownDelayP99Us! * 0.75);
    // A burst's subscribers stamp in a subscriber thread: no monitor wakes the main thread.
    expect(fast.generator.eventLoopDelayP99UsMax).toBeNull();

    const ramp = ['ramp', '--target', url, '--transport', 'ws', '--steps', '20', '--workers', '1', '--hold', '0', '--messages', '10', '--rate', '10'];
    const step = (result: TransportResult): StepGenerator => detailsOf(result, 'ramp')!.steps[0]!.generator;
    const slowStep = step((await runJson([...ramp, '--profile', SLOW, '--out', outDir('slow-ramp')])).transports[0] as TransportResult);
    const fastRamp = (await runJson([...ramp, '--out', outDir('fast-ramp')])).transports[0] as TransportResult;
    const fastStep = step(fastRamp);
    expect(slowStep.ownDelayUs).toBeGreaterThanOrEqual(6_000);
    expect(slowStep.ownDelayLongestUs).toBeLessThan(100_000);
    expect(slowStep.ownDelayLongestUs).toBeGreaterThanOrEqual(slowStep.ownDelayUs!);
    expect(slowStep.ownDelayShareOfP99).toBeGreaterThan(0.25);
    expect(slowStep.saturationReasons.join(' ')).toMatch(/a subscriber worker's own reads and handling may have stamped/);
    expect(fastStep.ownDelayUs!).toBeLessThan(slowStep.ownDelayUs! * 0.75);
    // Workers stamp a ramp's arrivals: no monitor wakes the main thread; the threads' CPU waits are read instead.
    expect(fastRamp.generator.eventLoopDelayP99UsMax).toBeNull();
    expect([...fastRamp.samples].every((row) => row.eventLoopDelayP99Us === null)).toBe(true);
    if (process.platform === 'linux') {
      expect(fastRamp.generator.cpuWaitUsMax).toEqual(expect.any(Number));
      expect((fastStep as StepGenerator & { cpuWaitUsMax: number | null }).cpuWaitUsMax).toEqual(expect.any(Number));
    }

    // Throughput tries a rate that broke its SLO while the generator was flagged once more, then calls it rtbench's limit.
    const throughput = (await runJson(['throughput', '--target', url, '--profile', SLOW, '--transport', 'ws', '--subscribers', '10', '--rooms', '1', '--rates', '10,20', '--step', '1s', '--slo', 'p99<5ms', '--workers', '1', '--no-ceiling', '--out', outDir('slow-throughput')])).transports[0] as TransportResult;
    const details = detailsOf(throughput, 'throughput')!;
    expect(details.steps.map((s) => [s.offeredPerS, s.attempt, s.passed])).toEqual([[10, 1, false], [10, 2, false]]);
    expect(details.stoppedAt?.rate).toBe(10);
    expect(details.stoppedAt?.causes.join(' ')).toMatch(/limit may be rtbench's: .*a subscriber worker's own reads and handling/);
    expect(details.sustainedRatePerS).toBeNull();
    // The same rates within a loose SLO hold: rtbench's own delay can only add latency, so a flag
    // alone fails no step (the steps stay marked as flagged).
    const loose = (await runJson(['throughput', '--target', url, '--profile', SLOW, '--transport', 'ws', '--subscribers', '10', '--rooms', '1', '--rates', '10,20', '--step', '1s', '--workers', '1', '--no-ceiling', '--out', outDir('slow-loose')])).transports[0] as TransportResult;
    const looseSteps = detailsOf(loose, 'throughput')!.steps;
    expect(looseSteps.map((s) => s.passed)).toEqual([true, true]);
    expect(looseSteps.some((s) => s.generator.saturated)).toBe(true);
  }, 180_000);
});
