import type { LatencyStats } from '../core/histogram.js';
import { LATENCY_KINDS, type LatencyKind, type TransportResult } from '../core/result.js';

/**
 * The numbers a threshold or a comparison can name, read from one transport's result. Latencies are
 * in whole microseconds; rates in messages per second; error rates as fractions.
 *
 *   p50, p99, p999, max ...            per-message latency (short for perMessage.p99)
 *   perMessage.p99, publishRtt.p50 ... any latency kind and statistic
 *   lost, duplicated, outOfOrder, late deliveries (exact counts)
 *   errorRate                          lost deliveries (and failed connects in a ramp) over expected
 *   throughput                         throughput: the highest rate that held the SLO (messages/s)
 */
export type MetricUnit = 'us' | 'count' | 'ratio' | 'rate';

export interface MetricValue {
  readonly value: number | null;
  readonly unit: MetricUnit;
}

const STATS = ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const;
type Stat = (typeof STATS)[number];
const COUNTS = ['lost', 'duplicated', 'outOfOrder', 'late', 'expected', 'received'] as const;

export function isKnownMetric(name: string): boolean {
  if ((STATS as readonly string[]).includes(name) || (COUNTS as readonly string[]).includes(name)) return true;
  if (name === 'errorRate' || name === 'throughput') return true;
  const [kind, stat] = name.split('.');
  return (LATENCY_KINDS as readonly string[]).includes(kind ?? '') && (STATS as readonly string[]).includes(stat ?? '');
}

export const METRIC_HELP = `p50, p99, p999, max (per-message latency), <kind>.<stat> (kinds: ${LATENCY_KINDS.join(', ')}; stats: ${STATS.join(', ')}), ${COUNTS.slice(0, 4).join(', ')}, errorRate, throughput`;

/** Failed connects over connect attempts, from a ramp's steps (0 elsewhere). */
function connectFailures(result: TransportResult): { failed: number; attempted: number } {
  const steps = (result.details?.steps as ReadonlyArray<{ connect?: { failed: number; attempted: number } }> | undefined) ?? [];
  return steps.reduce((sum, step) => ({ failed: sum.failed + (step.connect?.failed ?? 0), attempted: sum.attempted + (step.connect?.attempted ?? 0) }), { failed: 0, attempted: 0 });
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
    const held = (result.details as { sustainedRatePerS?: number | null } | null)?.sustainedRatePerS;
    return { value: held ?? null, unit: 'rate' };
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
  }
}
