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
});
