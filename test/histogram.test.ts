import { describe, expect, it } from 'vitest';
import { countAtOrAbove, decodeHistogram, encodeHistogram, latencyStats, mergeEncoded, newHistogram, recordUs } from '../core/histogram.js';

describe('histogram', () => {
  it('reports percentiles of whole microseconds within 0.1%', () => {
    const histogram = newHistogram();
    for (let us = 1; us <= 100_000; us++) recordUs(histogram, us);
    const stats = latencyStats(histogram);
    expect(stats.count).toBe(100_000);
    expect(stats.min).toBe(1);
    expect(Math.abs((stats.p50 ?? 0) - 50_000)).toBeLessThanOrEqual(50);
    expect(Math.abs((stats.p90 ?? 0) - 90_000)).toBeLessThanOrEqual(90);
    expect(Math.abs((stats.p95 ?? 0) - 95_000)).toBeLessThanOrEqual(95);
    expect(Math.abs((stats.p99 ?? 0) - 99_000)).toBeLessThanOrEqual(99);
    expect(Math.abs((stats.p999 ?? 0) - 99_900)).toBeLessThanOrEqual(100);
    expect(Math.abs((stats.max ?? 0) - 100_000)).toBeLessThanOrEqual(100);
    expect(Number.isInteger(stats.mean)).toBe(true);
  });

  it('has null percentiles when empty', () => {
    expect(latencyStats(newHistogram())).toMatchObject({ count: 0, p50: null, max: null });
  });

  it('records outliers without clipping them, even past the initial range (30 s, 2 min)', () => {
    const histogram = newHistogram();
    recordUs(histogram, 30_000_000);
    expect(Math.abs((latencyStats(histogram).max ?? 0) - 30_000_000)).toBeLessThanOrEqual(30_000);
    recordUs(histogram, 120_000_000);
    expect(Math.abs((latencyStats(histogram).max ?? 0) - 120_000_000)).toBeLessThanOrEqual(120_000);
  });

  it('keeps whole microseconds exactly below 2 ms, and never records a negative time', () => {
    const histogram = newHistogram();
    recordUs(histogram, 1234.4);
    recordUs(histogram, -5);
    expect(latencyStats(histogram)).toMatchObject({ count: 2, min: 0, max: 1234 });
  });

  it('merges encoded histograms exactly as one histogram of all values', () => {
    const parts = [newHistogram(), newHistogram(), newHistogram()];
    const whole = newHistogram();
    for (let i = 0; i < 30_000; i++) {
      const value = (i * 7919) % 250_000;
      recordUs(parts[i % 3]!, value);
      recordUs(whole, value);
    }
    const merged = mergeEncoded(parts.map(encodeHistogram));
    expect(latencyStats(merged)).toEqual(latencyStats(whole));
    expect(latencyStats(decodeHistogram(encodeHistogram(whole)))).toEqual(latencyStats(whole));
  });
});

describe('countAtOrAbove', () => {
  it('counts the recorded values at or above a threshold', () => {
    const histogram = newHistogram();
    for (const value of [1000, 2000, 450_000, 500_000, 550_000, 1_000_000]) recordUs(histogram, value);
    expect(countAtOrAbove(histogram, 475_000)).toBe(3);
    expect(countAtOrAbove(histogram, 2000)).toBe(5);
    expect(countAtOrAbove(histogram, 2001)).toBe(4);
    expect(countAtOrAbove(histogram, 1)).toBe(6);
    expect(countAtOrAbove(histogram, 1_100_000)).toBe(0);
    expect(countAtOrAbove(newHistogram(), 1)).toBe(0);
  });
});
