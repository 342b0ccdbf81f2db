import { describe, expect, it } from 'vitest';
import { decodeHistogram, encodeHistogram, latencyStats, mergeEncoded, newHistogram, recordUs } from '../bench/histogram.js';

describe('histogram', () => {
  it('reports percentiles of whole microseconds within 0.1%', () => {
    const histogram = newHistogram();
    for (let us = 1; us <= 100_000; us++) recordUs(histogram, us);
    const stats = latencyStats(histogram);
    expect(stats.count).toBe(100_000);
    expect(stats.min).toBe(1);
    expect(Math.abs((stats.p50 ?? 0) - 50_000)).toBeLessThanOrEqual(50);
    expect(Math.abs((stats.p99 ?? 0) - 99_000)).toBeLessThanOrEqual(99);
    expect(Math.abs((stats.max ?? 0) - 100_000)).toBeLessThanOrEqual(100);
    expect(Number.isInteger(stats.mean)).toBe(true);
  });

  it('has null percentiles when empty', () => {
    expect(latencyStats(newHistogram())).toMatchObject({ count: 0, p50: null, max: null });
  });

  it('records a 30 s outlier without clipping it', () => {
    const histogram = newHistogram();
    recordUs(histogram, 30_000_000);
    expect(Math.abs((latencyStats(histogram).max ?? 0) - 30_000_000)).toBeLessThanOrEqual(30_000);
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
