import { describe, expect, it } from 'vitest';
import { HandlerRuns, NO_OWN_DELAY, bucketOf, bucketUpperUs, mergeOwnDelay, ownDelayQuantileUs } from '../core/handler-runs.js';

/** Resolves after the current turn's setImmediate callbacks: the meter has closed the turn. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('own timestamping delay', () => {
  it('buckets every value under an upper edge at most 25% above it, in order', () => {
    let previousEdge = 0;
    for (let index = 0; index < 60; index++) {
      const edge = bucketUpperUs(index);
      expect(edge).toBeGreaterThan(previousEdge);
      previousEdge = edge;
    }
    for (const value of [0, 7, 8, 9, 10, 15, 16, 19, 20, 99, 1000, 1023, 1024, 12_345, 999_999, 60_000_000]) {
      const edge = bucketUpperUs(bucketOf(value));
      expect(edge, String(value)).toBeGreaterThan(value);
      if (value >= 8) expect(edge, String(value)).toBeLessThanOrEqual(value * 1.25 + 1);
      if (bucketOf(value) > 0) expect(bucketUpperUs(bucketOf(value) - 1), String(value)).toBeLessThanOrEqual(value);
    }
  });

  it('measures each arrival from the first stamp of its event-loop turn, and starts over in the next turn', async () => {
    const runs = new HandlerRuns();
    // One turn: 100 arrivals stamped 0, 100, ..., 9900 µs after the first (a fan-out handled back to back).
    for (let i = 0; i < 100; i++) runs.note(1_000_000 + i * 100);
    await nextTurn();
    // The next turn starts over: its arrivals are 0 and 50 µs behind its own first stamp.
    runs.note(5_000_000);
    runs.note(5_000_050);
    await nextTurn();
    const own = runs.snapshot();
    expect(own.longestUs).toBe(9_900);
    expect(own.counts.reduce((a, b) => a + b, 0)).toBe(102);
    // p99 of 102 bounds: the 101st smallest is 9800 µs; its bucket's edge is above it, and never above the longest run.
    const p99 = ownDelayQuantileUs(own, 0.99)!;
    expect(p99).toBeGreaterThanOrEqual(9_800);
    expect(p99).toBeLessThanOrEqual(9_900);
    const p50 = ownDelayQuantileUs(own, 0.5)!;
    expect(p50).toBeGreaterThan(4_800);
    expect(p50).toBeLessThanOrEqual(4_800 * 1.25);
    runs.reset();
    expect(ownDelayQuantileUs(runs.snapshot(), 0.99)).toBeNull();
  });

  it('never bounds an arrival above its own latency: it cannot have waited for handlers run before it was sent', async () => {
    const runs = new HandlerRuns();
    runs.note(0, 100);
    // Stamped 50 ms into a long turn, but sent only 2 ms before: at most 2 ms of it can be the turn's.
    runs.note(50_000, 2_000);
    runs.note(60_000, Number.NaN); // unknown latency: the turn's span stands
    await nextTurn();
    const own = runs.snapshot();
    expect(own.longestUs).toBe(60_000);
    expect(own.counts[bucketOf(2_000)]).toBe(1);
    expect(own.counts[bucketOf(60_000)]).toBe(1);
    expect(ownDelayQuantileUs(own, 0.5)).toBeLessThanOrEqual(2_500);
  });

  it('counts a turn still open when read, and merges threads by adding', async () => {
    const runs = new HandlerRuns();
    runs.note(10);
    runs.note(3_010);
    expect(runs.snapshot().longestUs).toBe(3_000); // read inside the turn
    await nextTurn();
    const other = new HandlerRuns();
    other.note(0);
    await nextTurn();
    const merged = mergeOwnDelay([runs.snapshot(), other.snapshot(), NO_OWN_DELAY]);
    expect(merged.longestUs).toBe(3_000);
    expect(merged.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(merged.counts[0]).toBe(2);
  });
});
