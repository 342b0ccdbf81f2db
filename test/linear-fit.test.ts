import { describe, expect, it } from 'vitest';
import { LinearFit } from '../core/linear-fit.js';

/** The textbook two-pass least-squares slope, to check the one-pass fit against. */
function twoPassSlope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const meanX = points.reduce((a, [x]) => a + x, 0) / n;
  const meanY = points.reduce((a, [, y]) => a + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return covariance / variance;
}

function fitOf(points: ReadonlyArray<readonly [number, number]>): LinearFit {
  const fit = new LinearFit();
  for (const [x, y] of points) fit.add(x, y);
  return fit;
}

describe('LinearFit', () => {
  it('gives the two-pass least-squares slope, one point at a time', () => {
    // Noisy points: a deterministic scatter of ±3 MiB around +1.5 MiB/h, one a second for 2 hours.
    const points = Array.from({ length: 7200 }, (_, i) => [i, 150_000_000 + (i * 1.5 * 1_048_576) / 3600 + ((i * 7919) % 6007) * 1000 - 3_000_000] as const);
    const slope = fitOf(points).slope()!;
    expect(slope).toBeCloseTo(twoPassSlope(points), 6);
    expect((slope * 3600) / 1_048_576).toBeCloseTo(1.5, 0);
  });

  it('keeps the digits over a week of seconds at a few hundred MiB, where plain sums would not', () => {
    // +1 byte a second on 400 MB, 604,800 points: Σx·y is about 7·10^16, past 2^53.
    const fit = new LinearFit();
    for (let i = 0; i < 604_800; i++) fit.add(i, 400_000_000 + i);
    expect(fit.slope()).toBeCloseTo(1, 9);
    let sumX = 0;
    let sumY = 0;
    let sumXY = 0;
    let sumXX = 0;
    for (let i = 0; i < 604_800; i++) {
      sumX += i;
      sumY += 400_000_000 + i;
      sumXY += i * (400_000_000 + i);
      sumXX += i * i;
    }
    const n = 604_800;
    const naive = (n * sumXY - sumX * sumY) / (n * sumXX - sumX * sumX);
    // The naive formula is what the one-pass fit avoids: its error here is far above the fit's.
    expect(Math.abs(naive - 1)).toBeGreaterThan(Math.abs(fit.slope()! - 1));
  });

  it('has no slope from fewer than two points or from points at one x', () => {
    expect(fitOf([]).slope()).toBeNull();
    expect(fitOf([[5, 1]]).slope()).toBeNull();
    expect(fitOf([[5, 1], [5, 9]]).slope()).toBeNull();
    expect(fitOf([[0, 1], [2, 5]]).slope()).toBe(2);
  });
});
