import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ThreadWaitMeter, runQueueWaitNs } from '../core/thread-wait.js';
import { procStat } from '../core/proc-stat.js';
import { ResourceSampler, cpuWaitOfArrivals } from '../run/sampler.js';
import type { SampleRow } from '../core/result.js';
import { testCleanup, waitFor } from './helpers.js';
import { loadChild } from './support/load-children.js';

const cleanup = testCleanup();

/** CPU time of a whole process so far, ms. */
const cpuMsOf = (pid: number): number => procStat(pid)?.cpuMs ?? Number.NaN;

describe('run-queue wait', () => {
  it('reads the wait field of a schedstat line, and nothing from what is not one', () => {
    expect(runQueueWaitNs('607941 1234567 12\n')).toBe(1_234_567);
    expect(runQueueWaitNs('5 0 1')).toBe(0);
    expect(runQueueWaitNs('')).toBeNull();
    expect(runQueueWaitNs('12 34')).toBeNull();
    expect(runQueueWaitNs('12 -3 4')).toBeNull();
  });

  it.skipIf(process.platform !== 'linux')('is about half the time for two threads spinning on one CPU, and about none for an idle process', async () => {
    // Main thread and a worker both spin, pinned to one CPU: each waits while the other runs.
    const busy = await loadChild('busy', cleanup, { cpu: 0, busyWorkers: 1 });
    const idle = await loadChild('idle', cleanup, { cpu: 0 });
    await waitFor(() => cpuMsOf(busy) >= 200, 'the pinned threads to be running');
    const busyMeter = new ThreadWaitMeter(busy);
    const idleMeter = new ThreadWaitMeter(idle);
    cleanup.add(() => {
      busyMeter.close();
      idleMeter.close();
    });
    expect(busyMeter.readUs()).toBeNull(); // the first reading is the baseline
    idleMeter.readUs();
    const startedMs = performance.now();
    await waitFor(() => performance.now() - startedMs >= 1000, 'a second to pass');
    const elapsedUs = (performance.now() - startedMs) * 1000;
    const busyWaitUs = busyMeter.readUs()!;
    // Half of the interval in an even share; the scheduler's slices and other tests' load make it wide.
    expect(busyWaitUs).toBeGreaterThan(elapsedUs * 0.2);
    expect(busyWaitUs).toBeLessThan(elapsedUs * 1.05);
    expect(idleMeter.readUs()!).toBeLessThan(elapsedUs * 0.1);
  });

  it.skipIf(process.platform !== 'linux')('keeps one descriptor per live thread, closes those of ended threads, and releases them all on close', async () => {
    const descriptors = (): number => readdirSync('/proc/self/fd').length;
    const threads = (): number => readdirSync('/proc/self/task').length;
    const before = descriptors();
    const meter = new ThreadWaitMeter();
    cleanup.add(() => meter.close());
    meter.readUs();
    expect(meter.openFiles).toBe(threads());
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await once(worker, 'online');
    const withWorker = threads();
    expect(meter.readUs()).toEqual(expect.any(Number));
    expect(meter.openFiles).toBe(withWorker);
    await worker.terminate();
    await waitFor(() => threads() < withWorker, 'the worker thread to end');
    meter.readUs();
    expect(meter.openFiles).toBe(threads());
    // Read again and again, the same descriptors serve: none is opened per reading.
    // Nor a buffer: readFileSync took 16 KiB per thread per reading, freed only by a later GC.
    const held = descriptors();
    const buffersBefore = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 100; i++) meter.readUs();
    expect(process.memoryUsage().arrayBuffers - buffersBefore).toBeLessThan(256 * 1024);
    expect(descriptors()).toBe(held);
    meter.close();
    expect(meter.openFiles).toBe(0);
    expect(descriptors()).toBe(before);
  });

  it.skipIf(process.platform !== 'linux')('is in every sample row; the event-loop delay only where the sampler was asked to monitor it', async () => {
    let received = 0;
    const sampler = new ResourceSampler({ generator: process.pid }, () => ({ connections: 0, sent: 0, received: (received += 10), measuring: true }), 500, { loopMonitor: false });
    await sampler.start();
    cleanup.add(() => sampler.stop());
    await waitFor(() => sampler.rows.length >= 2, 'two samples');
    await sampler.stop();
    expect([...sampler.rows].every((row) => row.eventLoopDelayP99Us === null && typeof row.generatorCpuWaitUs === 'number')).toBe(true);
    expect(sampler.eventLoopDelayP99UsMax()).toBeNull();
    expect(sampler.cpuWaitUsMax()).toEqual(expect.any(Number));
  });

  it('takes the longest wait over the seconds that stamped arrivals only', () => {
    const row = (messagesReceived: number, generatorCpuWaitUs: number | null): SampleRow => ({
      elapsedS: 1, measuring: true, step: null, connections: 0, messagesSent: 0, messagesReceived,
      serverCpuPct: null, serverRssBytes: null, generatorCpuPct: null, generatorRssBytes: null, proxyCpuPct: null, proxyRssBytes: null,
      eventLoopDelayP99Us: null, generatorCpuWaitUs,
    });
    // Connecting (no arrival) kept the threads waiting 400 ms; the seconds with arrivals waited 30 at most.
    expect(cpuWaitOfArrivals([row(0, 400_000), row(1000, 30_000), row(500, 12_000), row(200, null)])).toBe(30_000);
    expect(cpuWaitOfArrivals([row(0, 400_000)])).toBeNull();
    expect(cpuWaitOfArrivals([])).toBeNull();
  });
});
