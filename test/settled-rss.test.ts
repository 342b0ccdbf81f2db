import { describe, expect, it } from 'vitest';
import { compacting, heapAfterGc } from '../core/heap.js';
import { settledRssBytes } from '../core/settled-rss.js';

const MiB = 1_048_576;

/** Readings served in order (the last one repeated), and the waits asked for, without any real time passing. */
function scripted(readingsMiB: readonly number[]): { readRssBytes: () => number; wait: (ms: number) => Promise<void>; waitsMs: number[]; reads: () => number } {
  let next = 0;
  const waitsMs: number[] = [];
  return {
    readRssBytes: () => Math.round((readingsMiB[Math.min(next++, readingsMiB.length - 1)] as number) * MiB),
    wait: async (ms) => {
      waitsMs.push(ms);
    },
    waitsMs,
    reads: () => next,
  };
}

describe('settledRssBytes', () => {
  it('waits out the fall after a GC and gives the level RSS settles at, not the first reading', async () => {
    // As measured after a compacting GC: above the level at first, then falling as pages go back.
    const script = scripted([151.5, 149, 146.2, 144.3, 144.3, 144.32, 144.3, 144.3, 140]);
    const result = await settledRssBytes(script);
    expect(result).toEqual({ rssBytes: Math.round(144.3 * MiB), settled: true, waitedMs: 7 * 25 });
    // Four readings in a row without a fall after the last fall, then no more reads (140 is never seen).
    expect(script.reads()).toBe(8);
    expect(script.waitsMs.every((ms) => ms === 25)).toBe(true);
  });

  it('counts a fall of up to 64 KiB, or a rise, as settled: an idle process moves by a few pages', async () => {
    const script = scripted([100, 100 - 60 / 1024, 100.5, 100.5, 100.5]);
    expect(await settledRssBytes(script)).toEqual({ rssBytes: Math.round(100.5 * MiB), settled: true, waitedMs: 100 });
  });

  it('gives up after maxWaitMs with the last reading, marked not settled', async () => {
    const falling = Array.from({ length: 200 }, (_, i) => 200 - i);
    const script = scripted(falling);
    const result = await settledRssBytes({ ...script, maxWaitMs: 500 });
    expect(result).toEqual({ rssBytes: (200 - 20) * MiB, settled: false, waitedMs: 500 });
    // No time left (the next interval is due): one reading, no wait.
    const none = scripted([123]);
    expect(await settledRssBytes({ ...none, maxWaitMs: -40 })).toEqual({ rssBytes: 123 * MiB, settled: false, waitedMs: 0 });
    expect(none.waitsMs).toEqual([]);
  });

  it('stops at once when the run is interrupted', async () => {
    const controller = new AbortController();
    const script = scripted([300, 290, 280, 270]);
    const result = await settledRssBytes({
      readRssBytes: script.readRssBytes,
      signal: controller.signal,
      wait: async () => {
        controller.abort();
      },
    });
    expect(result).toEqual({ rssBytes: 300 * MiB, settled: false, waitedMs: 0 });
  });

  it('reads the level this process settles at after a compacting GC, not a level it is still falling from', async () => {
    // 60 MB of objects, 90% dropped: the compacting GC moves the rest, and V8 hands the emptied pages
    // back from background threads after it returns, so RSS may still fall once the GC is done.
    let objects: Array<{ a: number; b: string } | null> = Array.from({ length: 600_000 }, (_, i) => ({ a: i, b: `x${i}` }));
    heapAfterGc();
    for (let i = 0; i < objects.length; i++) if (i % 10 !== 0) objects[i] = null;
    const atOnceBytes = await compacting(async () => {
      heapAfterGc();
      return process.memoryUsage.rss();
    });
    const result = await settledRssBytes();
    expect(result.settled).toBe(true);
    expect(result.waitedMs).toBeGreaterThanOrEqual(100);
    expect(result.rssBytes).toBeLessThanOrEqual(atOnceBytes + 4 * MiB);
    // The level it settles at for good: no fall for a whole second (ten times the rule's window),
    // read the same way. How much went back before the first reading depends on how the machine
    // scheduled V8's threads; what must hold is that the reading given is not above the final level,
    // which a reading taken too early (what the soak did) is by whatever was still to go back.
    const finalBytes = await lowestAfterQuietMs(1000, 10_000);
    expect(result.rssBytes).toBeLessThanOrEqual(finalBytes + 4 * MiB);
    expect(objects.filter((o) => o !== null).length).toBe(60_000);
    objects = [];
  });
});

/** This process's RSS once it has not fallen by more than 64 KiB for `quietMs` (polled every 25 ms, at most `maxMs`). */
async function lowestAfterQuietMs(quietMs: number, maxMs: number): Promise<number> {
  const startedMs = performance.now();
  let lowest = process.memoryUsage.rss();
  let quietSinceMs = startedMs;
  while (performance.now() - quietSinceMs < quietMs) {
    if (performance.now() - startedMs > maxMs) throw new Error(`RSS still falling after ${maxMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    const current = process.memoryUsage.rss();
    if (lowest - current > 64 * 1024) quietSinceMs = performance.now();
    lowest = Math.min(lowest, current);
  }
  return lowest;
}
