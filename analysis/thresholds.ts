import { InvalidArgumentError } from 'commander';
import { parseDurationMs } from '../core/duration.js';
import type { RunSummary, TransportResult } from '../core/result.js';
import { TRANSPORTS, type TransportName } from '../core/transports.js';
import { METRIC_HELP, type MetricUnit, formatMetric, isKnownMetric, metricOf } from './metrics.js';

/**
 * Pass/fail rules in the style k6 made familiar: `p99<250ms`, `perMessage.p999<1s`, `lost==0`,
 * `errorRate<1%`, optionally for one transport: `sse:p99<300ms`. A run evaluates every rule on every
 * transport it names (or all), prints each with its measured value and verdict, and exits with
 * EXIT.thresholds when any failed; everything is written first.
 */
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  readonly text: string;
  readonly transport: TransportName | null;
  readonly metric: string;
  readonly operator: Operator;
  /** In the metric's own unit: µs for latencies, a fraction for rates of errors, messages/s for throughput, bytes an hour for memory slopes. */
  readonly limit: number;
}

const PATTERN = /^(?:([a-z-]+):)?([A-Za-z][\w.]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)$/;

const BYTES_PER = { KiB: 1024, MiB: 1_048_576, GiB: 1_073_741_824 } as const;

/** The limit in the metric's unit: a duration for latencies (`250ms`, `1s`), a percentage or fraction for error rates. */
function limitOf(text: string, unit: MetricUnit, expression: string): number {
  if (unit === 'us') {
    const ms = parseDurationMs(text);
    if (ms === null) throw new InvalidArgumentError(`'${expression}': ${text} is not a duration (e.g. 250ms, 1.5s; a bare number is milliseconds).`);
    return ms * 1000;
  }
  if (unit === 'ratio') {
    const value = Number(text.replace(/%$/, ''));
    if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError(`'${expression}': ${text} is not a rate (e.g. 1% or 0.01).`);
    return text.endsWith('%') ? value / 100 : value;
  }
  if (unit === 'bytesPerHour') {
    const match = /^([+-]?\d+(?:\.\d+)?)\s*(KiB|MiB|GiB)?(?:\/h)?$/.exec(text.trim());
    if (!match) throw new InvalidArgumentError(`'${expression}': ${text} is not a memory slope (e.g. 2MiB/h, 512KiB/h; a bare number is MiB/h).`);
    return Number(match[1]) * BYTES_PER[(match[2] ?? 'MiB') as keyof typeof BYTES_PER];
  }
  const value = Number(text.replace(/\/s$/, ''));
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError(`'${expression}': ${text} is not a number.`);
  return value;
}

/** Parses one `--threshold` expression; a bad one is a usage error that says what is accepted. */
export function parseThreshold(text: string): Threshold {
  const match = PATTERN.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected [transport:]metric<op>value, e.g. p99<250ms, lost==0, errorRate<1%, sse:p99<300ms (ops: < <= > >= == !=).`);
  const [, transport, metric, operator, value] = match as unknown as [string, string | undefined, string, Operator, string];
  if (transport !== undefined && !(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new InvalidArgumentError(`'${text}': unknown transport '${transport}'; expected one of ${TRANSPORTS.join(', ')}.`);
  }
  if (!isKnownMetric(metric)) throw new InvalidArgumentError(`'${text}': unknown metric '${metric}'; expected ${METRIC_HELP}.`);
  const unit = metricOf(PROBE, metric).unit;
  return { text: text.trim(), transport: (transport as TransportName | undefined) ?? null, metric, operator, limit: limitOf(value, unit, text) };
}

/** Accumulates repeated `--threshold` options. */
export function collectThreshold(text: string, previous: unknown): Threshold[] {
  return [...((previous as Threshold[] | undefined) ?? []), parseThreshold(text)];
}

export function holds(value: number, operator: Operator, limit: number): boolean {
  switch (operator) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '==':
      return value === limit;
    case '!=':
      return value !== limit;
  }
}

export interface ThresholdVerdict {
  readonly threshold: string;
  readonly transport: string;
  readonly repeat: number | null;
  readonly measured: string;
  /** Raw value in the metric's unit (µs, fraction, count, messages/s); null when not measured. */
  readonly value: number | null;
  /** A value that was not measured (no messages, a failed run) fails: a gate must not pass on nothing. */
  readonly passed: boolean;
}

export function evaluateThresholds(summary: RunSummary, thresholds: readonly Threshold[]): ThresholdVerdict[] {
  const verdicts: ThresholdVerdict[] = [];
  for (const threshold of thresholds) {
    const results = summary.transports.filter((t: TransportResult) => threshold.transport === null || t.transport === threshold.transport);
    for (const result of results) {
      const metric = metricOf(result, threshold.metric);
      verdicts.push({
        threshold: threshold.text,
        transport: result.transport,
        repeat: result.repeat ?? null,
        measured: formatMetric(metric),
        value: metric.value,
        passed: metric.value !== null && result.state === 'completed' && holds(metric.value, threshold.operator, threshold.limit),
      });
    }
  }
  return verdicts;
}

/** A result whose fields exist, to learn a metric's unit without a run. */
const PROBE = {
  latencyUs: Object.fromEntries(['perMessage', 'burstCompletion', 'fanOutSpread', 'publishRtt', 'sendLag'].map((k) => [k, { count: 0, min: null, mean: null, p50: null, p90: null, p95: null, p99: null, p999: null, max: null }])),
  messages: { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
  details: null,
} as unknown as TransportResult;
