import type { LatencyStats } from '../core/histogram.js';
import { LATENCY_KINDS, type LatencyKind, type TransportResult } from '../core/result.js';
import { type SoakDetails, detailsOf } from '../core/details.js';

/**
 * The numbers a threshold or a comparison can name, read from one transport's result. Latencies are
 * in whole microseconds; rates in messages per second; error rates as fractions.
 *
 *   p50, p99, p999, max ...            per-message latency (short for perMessage.p99)
 *   perMessage.p99, publishRtt.p50 ... any latency kind and statistic
 *   lost, duplicated, outOfOrder, late deliveries (exact counts)
 *   errorRate                          lost deliveries (and failed connects in a ramp) over expected
 *   throughput                         throughput: the highest rate that held the SLO (messages/s)
 *   serverRssSlope, generatorRssSlope  soak: least-squares RSS slope over the run (bytes an hour),
 *   ...SecondHalf, generatorHeapSlope  over its second half, and of the generator's heap after GC
 */
export type MetricUnit = 'us' | 'count' | 'ratio' | 'rate' | 'bytesPerHour';

export interface MetricValue {
  readonly value: number | null;
  readonly unit: MetricUnit;
}

const STATS = ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const;
type Stat = (typeof STATS)[number];
const COUNTS = ['lost', 'duplicated', 'outOfOrder', 'late', 'expected', 'received'] as const;

/**
 * A soak's memory slopes, read from its details (scenarios/soak.ts): what a nightly soak gates a leak
 * on. The second-half slopes leave out the first half of the run, where a process still settles
 * (V8 and the allocator reaching their working sizes) and a leak keeps growing.
 */
/**
 * A memory slope says something only over this long: in minutes V8 and the allocator move RSS by
 * several MiB, which a fit turns into hundreds of MiB an hour.
 */
export const SLOPE_MIN_S = 3600;

export function isSlopeMetric(name: string): boolean {
  return Object.hasOwn(SLOPES, name);
}

const SLOPES: Readonly<Record<string, (details: SoakDetails) => number | null | undefined>> = {
  serverRssSlope: (d) => d.server.rssSlopeBytesPerHour,
  serverRssSlopeSecondHalf: (d) => d.server.rssSlopeSecondHalfBytesPerHour,
  generatorRssSlope: (d) => d.generatorRssSlopeBytesPerHour,
  generatorRssSlopeSecondHalf: (d) => d.generatorRssSlopeSecondHalfBytesPerHour,
  generatorHeapSlope: (d) => d.generatorHeap?.slopeBytesPerHour,
};


export function isKnownMetric(name: string): boolean {
  if ((STATS as readonly string[]).includes(name) || (COUNTS as readonly string[]).includes(name)) return true;
  if (name === 'errorRate' || name === 'throughput' || Object.hasOwn(SLOPES, name)) return true;
  const [kind, stat] = name.split('.');
  return (LATENCY_KINDS as readonly string[]).includes(kind ?? '') && (STATS as readonly string[]).includes(stat ?? '');
}

export const METRIC_HELP = `p50, p99, p999, max (per-message latency), <kind>.<stat> (kinds: ${LATENCY_KINDS.join(', ')}; stats: ${STATS.join(', ')}), ${COUNTS.slice(0, 4).join(', ')}, errorRate, throughput, soak memory slopes (${Object.keys(SLOPES).join(', ')})`;

/** Failed connects over connect attempts, from a ramp's steps (0 elsewhere). */
function connectFailures(result: TransportResult): { failed: number; attempted: number } {
  const steps = detailsOf(result, 'ramp')?.steps ?? [];
  return steps.reduce((sum, step) => ({ failed: sum.failed + step.connect.failed, attempted: sum.attempted + step.connect.attempted }), { failed: 0, attempted: 0 });
}

export function metricOf(result: TransportResult, name: string): MetricValue {
  if ((STATS as readonly string[]).includes(name)) return { value: result.latencyUs.perMessage[name as Stat], unit: name === 'count' ? 'count' : 'us' };
  if ((COUNTS as readonly string[]).includes(name)) return { value: result.messages[name as (typeof COUNTS)[number]], unit: 'count' };
  if (name === 'errorRate') {
    const connects = connectFailures(result);
    const denominator = result.messages.expected + connects.attempted;
    return { value: denominator === 0 ? 0 : (result.messages.lost + connects.failed) / denominator, unit: 'ratio' };
  }
  if (name === 'throughput') {
    return { value: detailsOf(result, 'throughput')?.sustainedRatePerS ?? null, unit: 'rate' };
  }
  if (Object.hasOwn(SLOPES, name)) {
    const slope = SLOPES[name];
    // Not a soak, one too short to tell a leak from settling, or too few readings for a fit: not
    // measured, so a gate fails.
    const soak = detailsOf(result, 'soak');
    const fits = soak !== null && soak.measuredS >= SLOPE_MIN_S && slope !== undefined;
    return { value: fits ? (slope(soak) ?? null) : null, unit: 'bytesPerHour' };
  }
  const [kind, stat] = name.split('.') as [LatencyKind, Stat];
  const stats: LatencyStats | undefined = result.latencyUs[kind];
  return { value: stats ? stats[stat] : null, unit: stat === 'count' ? 'count' : 'us' };
}

/** A value as people read it: `12.34 ms`, `0.50%`, `1200/s`, `3`. */
export function formatMetric(metric: MetricValue): string {
  if (metric.value === null) return '-';
  switch (metric.unit) {
    case 'us':
      return `${(metric.value / 1000).toFixed(metric.value < 100_000 ? 2 : 1)} ms`;
    case 'ratio':
      return `${(metric.value * 100).toFixed(2)}%`;
    case 'rate':
      return `${metric.value}/s`;
    case 'count':
      return String(metric.value);
    case 'bytesPerHour':
      return `${metric.value >= 0 ? '+' : ''}${(metric.value / 1_048_576).toFixed(2)} MiB/h`;
  }
}
