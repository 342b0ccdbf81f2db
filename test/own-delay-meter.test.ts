import { describe, expect, it } from 'vitest';
import { NO_OWN_DELAY, OwnDelayMeter, bucketOf, bucketUpperUs, mergeOwnDelay, ownDelayQuantileUs } from '../core/own-delay.js';

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

  it('counts each arrival by its bound, keeps the largest, and starts over on reset', () => {
    const meter = new OwnDelayMeter();
    // 100 arrivals bounded 0, 100, ..., 9900 µs (a fan-out whose reads waited behind earlier work).
    for (let i = 0; i < 100; i++) meter.note(i * 100);
    meter.note(-5); // a stamp before its window's start (clock granularity) counts as 0
    const own = meter.snapshot();
    expect(own.longestUs).toBe(9_900);
    expect(own.counts.reduce((a, b) => a + b, 0)).toBe(101);
    expect(own.counts[0]).toBe(2);
    // p99 of 101 bounds: the 100th smallest is 9800 µs; its bucket's edge is above it, and never above the largest.
    const p99 = ownDelayQuantileUs(own, 0.99)!;
    expect(p99).toBeGreaterThanOrEqual(9_800);
    expect(p99).toBeLessThanOrEqual(9_900);
    const p50 = ownDelayQuantileUs(own, 0.5)!;
    expect(p50).toBeGreaterThan(4_800);
    expect(p50).toBeLessThanOrEqual(4_800 * 1.25);
    meter.reset();
    expect(ownDelayQuantileUs(meter.snapshot(), 0.99)).toBeNull();
  });

  it('never bounds an arrival above its own latency: it cannot have waited behind work done before it was sent', () => {
    const meter = new OwnDelayMeter();
    meter.note(0, 100);
    // 50 ms into a long window, but sent only 2 ms before: at most 2 ms of it can be rtbench's.
    meter.note(50_000, 2_000);
    meter.note(60_000, Number.NaN); // unknown latency: the bound stands
    const own = meter.snapshot();
    expect(own.longestUs).toBe(60_000);
    expect(own.counts[bucketOf(2_000)]).toBe(1);
    expect(own.counts[bucketOf(60_000)]).toBe(1);
    expect(ownDelayQuantileUs(own, 0.5)).toBeLessThanOrEqual(2_500);
  });

  it('merges threads by adding', () => {
    const one = new OwnDelayMeter();
    one.note(10);
    one.note(3_000);
    const other = new OwnDelayMeter();
    other.note(0);
    const merged = mergeOwnDelay([one.snapshot(), other.snapshot(), NO_OWN_DELAY]);
    expect(merged.longestUs).toBe(3_000);
    expect(merged.counts.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(merged.counts[0]).toBe(1);
    expect(merged.counts[bucketOf(10)]).toBe(1);
  });
});
