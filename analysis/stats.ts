/**
 * The statistics `rtbench compare` uses: medians, and the Mann-Whitney U rank test on two samples
 * of repeated runs. It asks only whether one sample tends to be larger than the other, so it needs no
 * assumption of normal latencies, and with few repeats its p-value is exact (all orderings counted).
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Ranks 1..n of the pooled values, ties sharing the mean of their ranks. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const result = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] as { value: number }).value === (order[i] as { value: number }).value) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) result[(order[k] as { index: number }).index] = rank;
    i = j + 1;
  }
  return result;
}

/** How many ways of choosing n1 of n1+n2 ranks give each U (U = 0..n1*n2), without ties. */
function uDistribution(n1: number, n2: number): number[] {
  // counts[i][j][u]: arrangements of i values of the first sample and j of the second with U = u.
  let previous: number[][] = Array.from({ length: n2 + 1 }, () => [1]);
  for (let i = 1; i <= n1; i++) {
    const current: number[][] = [[1]];
    for (let j = 1; j <= n2; j++) {
      const size = i * j + 1;
      const counts = new Array<number>(size).fill(0);
      // The largest value belongs to the first sample (adds j to U) or to the second (adds nothing).
      const fromFirst = previous[j] ?? [];
      const fromSecond = current[j - 1] ?? [];
      for (let u = 0; u < size; u++) counts[u] = (u - j >= 0 ? (fromFirst[u - j] ?? 0) : 0) + (fromSecond[u] ?? 0);
      current.push(counts);
    }
    previous = current;
  }
  return previous[n2] ?? [1];
}

export interface RankTest {
  /** U of the first sample: how many (a, b) pairs have a > b (ties count a half). */
  readonly u: number;
  /** Two-sided p-value: the chance of a U at least this far from n1*n2/2 if both samples were alike. */
  readonly p: number;
}

/** Two-sided Mann-Whitney U test; exact without ties and up to 20 per side, normal approximation otherwise. */
export function mannWhitney(a: readonly number[], b: readonly number[]): RankTest {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, p: 1 };
  const pooled = ranks([...a, ...b]);
  const rankSum = pooled.slice(0, n1).reduce((sum, r) => sum + r, 0);
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const distance = Math.abs(u - mean);
  const tied = new Set([...a, ...b]).size < n1 + n2;
  if (!tied && n1 <= 20 && n2 <= 20) {
    const counts = uDistribution(n1, n2);
    const total = counts.reduce((sum, c) => sum + c, 0);
    let extreme = 0;
    counts.forEach((count, value) => {
      if (Math.abs(value - mean) >= distance - 1e-9) extreme += count;
    });
    return { u, p: Math.min(1, extreme / total) };
  }
  // Normal approximation with the tie correction and a continuity correction.
  const n = n1 + n2;
  const tieTerm = [...countsOf([...a, ...b]).values()].reduce((sum, t) => sum + (t ** 3 - t), 0);
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, p: 1 };
  const z = (distance - 0.5) / Math.sqrt(variance);
  // Within the continuity correction of the mean: no evidence at all (and no rounding of the CDF).
  if (z <= 0) return { u, p: 1 };
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))) };
}

function countsOf(values: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
