import { describe, expect, it } from 'vitest';
import { mannWhitney, median, normalCdf } from '../analysis/stats.js';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([3])).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('Mann-Whitney U', () => {
  it('gives the exact two-sided p-value of fully separated samples', () => {
    // Of the C(10,5) = 252 orderings, 2 are this extreme: p = 2/252.
    expect(mannWhitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])).toMatchObject({ u: 25 });
    expect(mannWhitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).p).toBeCloseTo(2 / 252, 10);
    expect(mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])).toMatchObject({ u: 0 });
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(2 / 20, 10);
  });

  it('counts pairs for U, and reads interleaved samples as alike', () => {
    // a > b in 6 of the 9 pairs: 2>1; 4>1, 4>3; 6>1, 6>3, 6>5.
    expect(mannWhitney([2, 4, 6], [1, 3, 5]).u).toBe(6);
    expect(mannWhitney([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]).p).toBeGreaterThan(0.5);
    expect(mannWhitney([5, 5, 5], [5, 5, 5]).p).toBe(1);
  });

  it('falls back to the normal approximation with ties, and agrees with the exact test in between', () => {
    const tied = mannWhitney([1, 2, 2, 3, 10, 11, 12], [1, 2, 3, 3, 4, 4, 5]);
    expect(tied.p).toBeGreaterThan(0);
    expect(tied.p).toBeLessThan(1);
    // Separated samples of 20: tiny p either way.
    const a = Array.from({ length: 21 }, (_, i) => 100 + i);
    const b = Array.from({ length: 21 }, (_, i) => i);
    expect(mannWhitney(a, b).p).toBeLessThan(1e-6);
    expect(mannWhitney([], [1]).p).toBe(1);
  });

  it('uses a correct standard normal distribution', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
  });

  // Reference values from SciPy 1.17 (scipy.stats.mannwhitneyu, two-sided; method='exact', or
  // method='asymptotic' with use_continuity=True, which applies the same tie correction).
  it('agrees with SciPy: exact p-values of unequal samples without ties', () => {
    expect(mannWhitney([1, 4, 6, 9, 12, 15], [2, 3, 5, 7, 8, 10, 11, 13])).toMatchObject({ u: 25 });
    expect(mannWhitney([1, 4, 6, 9, 12, 15], [2, 3, 5, 7, 8, 10, 11, 13]).p).toBeCloseTo(0.9497169497169498, 10);
    expect(mannWhitney([5, 9, 14, 20, 21, 22, 30], [1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 15, 16])).toMatchObject({ u: 74 });
    expect(mannWhitney([5, 9, 14, 20, 21, 22, 30], [1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 15, 16]).p).toBeCloseTo(0.023606811145510834, 10);
  });

  it('agrees with SciPy: the normal approximation with ties, and beyond 20 a side', () => {
    const cases: Array<[number[], number[], number, number]> = [
      [[1, 2, 2, 3, 4], [2, 3, 5, 6, 7], 4.5, 0.11161176829829224],
      [[10, 12, 12, 15, 18, 20], [11, 13, 14, 16, 17, 19, 21], 16, 0.5197427420397585],
      [[3.1, 2.9, 3.3, 3.0, 3.2, 3.4, 2.8], [3.5, 3.6, 3.2, 3.9, 4.0, 3.7, 3.8, 4.1], 2.5, 0.003782241021636921],
    ];
    for (const [a, b, u, p] of cases) {
      expect(mannWhitney(a, b).u).toBe(u);
      // The normal CDF used is accurate to about 1e-7.
      expect(mannWhitney(a, b).p).toBeCloseTo(p, 6);
    }
    const a = Array.from({ length: 22 }, (_, i) => i * 3 + 1);
    const b = Array.from({ length: 21 }, (_, i) => i * 3 + 22.5);
    expect(mannWhitney(a, b)).toMatchObject({ u: 105 });
    expect(mannWhitney(a, b).p).toBeCloseTo(0.002294457105037918, 6);
  });
});
