import * as hdr from 'hdr-histogram-js';

/**
 * HDR histograms of whole microseconds. Three significant digits keep every percentile within 0.1%
 * of the recorded value; auto-resize means a 30 s outlier is recorded, never clipped.
 */
export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function recordUs(histogram: Histogram, valueUs: number): void {
  // Values are differences of one monotonic clock, so they cannot be negative; rounding keeps whole µs.
  histogram.recordValue(Math.max(0, Math.round(valueUs)));
}

/** Percentiles of one latency kind, all in whole microseconds; null fields when nothing was recorded. */
export interface LatencyStats {
  readonly count: number;
  readonly min: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly max: number | null;
}

export function latencyStats(histogram: Histogram): LatencyStats {
  const count = histogram.totalCount;
  if (count === 0) {
    return { count, min: null, mean: null, p50: null, p90: null, p95: null, p99: null, p999: null, max: null };
  }
  return {
    count,
    // Min and max come from the buckets too (within 0.1%), so a histogram merged from workers or
    // decoded from summary.json reports exactly what the original did.
    min: histogram.getValueAtPercentile(0),
    mean: Math.round(histogram.mean),
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p95: histogram.getValueAtPercentile(95),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.getValueAtPercentile(100),
  };
}

/** Compressed base64 (the HdrHistogram V2 encoding), readable by every HdrHistogram implementation. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Merges encoded histograms (from workers, iterations or runs) into a new one. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const merged = newHistogram();
  for (const text of encoded) merged.add(decodeHistogram(text));
  return merged;
}

/**
 * How many recorded values are at or above `valueUs` (to the histogram's 0.1% resolution): e.g. how
 * many deliveries took longer than a stall. Walks the recorded buckets once.
 */
export function countAtOrAbove(histogram: Histogram, valueUs: number): number {
  const iterator = (histogram as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator;
  iterator.reset();
  let count = 0;
  while (iterator.hasNext()) {
    const step = iterator.next();
    // valueIteratedTo is the top of the bucket: a value within 0.1% below the threshold may count.
    if (step.valueIteratedTo >= valueUs) count += step.countAtValueIteratedTo;
  }
  return count;
}
