import { InvalidArgumentError } from 'commander';
import { usageError } from '../core/errors.js';
import type { RunSummary, TransportResult } from '../core/result.js';
import { METRIC_HELP, formatMetric, isKnownMetric, metricOf } from './metrics.js';
import { mannWhitney, median } from './stats.js';

/**
 * `rtbench compare BASE NEW`: whether NEW regressed against BASE, per transport and metric, as
 * benchstat reports it. Exact counters (lost, duplicated, out of order) fail on any increase. A
 * latency or throughput change fails only when it is both significant (Mann-Whitney U over the
 * repeats, p < 0.05) and larger than its `--fail-on` limit; with fewer than 5 repeats per side it is
 * "inconclusive", never a pass. A repeat whose generator was saturated measured rtbench as much as
 * the server: it is left out of those tests and named (its exact counts still count), unless
 * --include-saturated keeps it; too few repeats left is "inconclusive". Usage errors are for what
 * makes two runs incomparable (another scenario or configuration, a run that did not complete), not
 * for what the runs measured.
 */
export const ALPHA = 0.05;
export const MIN_REPEATS = 5;
const COUNTERS = ['lost', 'duplicated', 'outOfOrder'] as const;

export interface FailOn {
  readonly metric: string;
  /** +0.15: an increase of more than 15% fails; -0.10: a decrease of more than 10% fails. */
  readonly change: number;
}

export const DEFAULT_FAIL_ON: readonly FailOn[] = [
  { metric: 'perMessage.p50', change: 0.1 },
  { metric: 'perMessage.p99', change: 0.1 },
  { metric: 'throughput', change: -0.1 },
];

export function parseFailOn(text: string, previous: unknown): FailOn[] {
  const match = /^([A-Za-z][\w.]*):([+-])(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError("expected metric:+N% or metric:-N%, e.g. perMessage.p99:+15% (an increase beyond 15% fails) or throughput:-10%.");
  const [, metric, sign, percent] = match as unknown as [string, string, string, string];
  if (!isKnownMetric(metric)) throw new InvalidArgumentError(`unknown metric '${metric}'; expected ${METRIC_HELP}.`);
  return [...((previous as FailOn[] | undefined) ?? []), { metric, change: (sign === '-' ? -1 : 1) * (Number(percent) / 100) }];
}

export type Verdict = 'pass' | '~' | 'changed' | 'REGRESSION' | 'inconclusive';

export interface ComparisonRow {
  readonly transport: string;
  readonly metric: string;
  readonly base: { readonly n: number; readonly median: string; readonly spread: string };
  readonly next: { readonly n: number; readonly median: string; readonly spread: string };
  /** Relative change of the medians (new / base - 1), or null when a median is missing or zero. */
  readonly change: number | null;
  readonly p: number | null;
  readonly verdict: Verdict;
  readonly why: string;
}

export interface Comparison {
  readonly scenario: string;
  readonly rows: readonly ComparisonRow[];
  readonly outcome: 'pass' | 'regression' | 'inconclusive';
}

/**
 * Options that may differ between two runs being compared: those that do not change the workload
 * (output, repeats, gates), and those that say which server answered it, since comparing one server
 * (or build, or deployment) with another under the same workload is what compare is for.
 */
const IRRELEVANT = new Set(['out', 'json', 'quiet', 'repeat', 'threshold', 'thresholdFormat', 'seed', 'target', 'serverDelay']);

/**
 * Options rtbench gained after runs were already being kept, each with the value that does what a run
 * without the option did: absent on one side and this value on the other is the same workload, so a
 * new build's run compares with an older baseline's.
 */
const ADDED_LATER: Readonly<Record<string, unknown>> = { http2: false };

function configDifference(a: TransportResult, b: TransportResult): string | null {
  const keys = new Set([...Object.keys(a.config), ...Object.keys(b.config)]);
  const valueOf = (config: Readonly<Record<string, unknown>>, key: string): string | undefined =>
    JSON.stringify(key in config || !(key in ADDED_LATER) ? config[key] : ADDED_LATER[key]);
  for (const key of [...keys].sort()) {
    if (IRRELEVANT.has(key)) continue;
    const left = valueOf(a.config, key);
    const right = valueOf(b.config, key);
    if (left !== right) return `${key}: ${left ?? 'absent'} in BASE, ${right ?? 'absent'} in NEW`;
  }
  return null;
}

/** The spread of repeated values around their median, as benchstat shows it: ±max deviation in %. */
function spreadOf(values: readonly number[], middle: number | null): string {
  if (middle === null || middle === 0 || values.length < 2) return '';
  const deviation = Math.max(...values.map((v) => Math.abs(v - middle))) / Math.abs(middle);
  return `±${Math.round(deviation * 100)}%`;
}

function sides(base: readonly TransportResult[], next: readonly TransportResult[]): void {
  const [first] = base;
  const [other] = next;
  if (!first || !other) throw usageError('compare', base.length === 0 ? 'BASE' : 'NEW', 'a run folder (or a folder of run folders) with at least one transport result');
  if (first.scenario !== other.scenario) throw usageError('compare', `${first.scenario} vs ${other.scenario}`, 'two runs of the same scenario');
  for (const result of [...base, ...next]) {
    if (result.state !== 'completed') throw usageError('compare', `${result.transport} (${result.startedAt}) ${result.state}`, 'completed runs only');
  }
  for (const b of base) {
    for (const n of next.filter((r) => r.transport === b.transport)) {
      const difference = configDifference(b, n);
      if (difference) throw usageError('compare', difference, 'two runs with the same configuration');
    }
  }
}

export interface CompareOptions {
  readonly failOn?: readonly FailOn[];
  /** Keep repeats whose generator was saturated in the latency and rate tests (by default they are left out and named). */
  readonly includeSaturated?: boolean;
}

export function compareRuns(base: RunSummary[], next: RunSummary[], options: CompareOptions = {}): Comparison {
  const failOn = options.failOn ?? DEFAULT_FAIL_ON;
  const baseResults = base.flatMap((s) => s.transports);
  const nextResults = next.flatMap((s) => s.transports);
  sides(baseResults, nextResults);
  const includeSaturated = options.includeSaturated ?? false;
  const scenario = baseResults[0]?.scenario ?? '';
  const transports = [...new Set(baseResults.map((r) => r.transport))].filter((t) => nextResults.some((r) => r.transport === t));
  const metrics = [...new Set([...failOn.map((f) => f.metric), 'perMessage.p50', 'perMessage.p99'])].filter((m) => m !== 'throughput' || scenario === 'throughput');
  const rows: ComparisonRow[] = [];
  for (const transport of transports) {
    const a = baseResults.filter((r) => r.transport === transport);
    const b = nextResults.filter((r) => r.transport === transport);
    for (const counter of COUNTERS) {
      const before = Math.max(...a.map((r) => r.messages[counter]));
      const after = Math.max(...b.map((r) => r.messages[counter]));
      rows.push({
        transport,
        metric: counter,
        base: { n: a.length, median: String(before), spread: 'max' },
        next: { n: b.length, median: String(after), spread: 'max' },
        change: before === 0 ? null : after / before - 1,
        p: null,
        verdict: after > before ? 'REGRESSION' : 'pass',
        why: after > before ? `an exact count rose (${before} -> ${after} in the worst run)` : 'exact count, not higher',
      });
    }
    // A repeat whose generator was saturated measured rtbench as much as the server: its exact
    // counts still stand (a lost message is lost), its latencies and rates are left out, unless asked.
    const cleanA = includeSaturated ? a : a.filter((r) => !r.generator.saturated);
    const cleanB = includeSaturated ? b : b.filter((r) => !r.generator.saturated);
    const saturated = [...a.filter((r) => r.generator.saturated).map((r) => `BASE #${r.repeat ?? 1}`), ...b.filter((r) => r.generator.saturated).map((r) => `NEW #${r.repeat ?? 1}`)];
    const leftOutNote = saturated.length === 0 ? '' : `; ${includeSaturated ? 'kept (--include-saturated)' : 'left out'}, generator saturated: ${saturated.join(', ')}`;
    for (const metric of metrics) {
      const valuesA = cleanA.map((r) => metricOf(r, metric).value).filter((v): v is number => v !== null);
      const valuesB = cleanB.map((r) => metricOf(r, metric).value).filter((v): v is number => v !== null);
      const unit = metricOf(a[0] as TransportResult, metric).unit;
      const medianA = median(valuesA);
      const medianB = median(valuesB);
      const change = medianA !== null && medianB !== null && medianA !== 0 ? medianB / medianA - 1 : null;
      const test = valuesA.length > 0 && valuesB.length > 0 ? mannWhitney(valuesB, valuesA) : null;
      const limit = failOn.find((f) => f.metric === metric);
      let verdict: Verdict;
      let why: string;
      if (valuesA.length < MIN_REPEATS || valuesB.length < MIN_REPEATS) {
        verdict = 'inconclusive';
        why = `fewer than ${MIN_REPEATS} runs on a side (${valuesA.length} and ${valuesB.length}): no rank test can tell a change from noise`;
      } else if (!test || test.p >= ALPHA) {
        verdict = '~';
        why = `no significant change (p=${test?.p.toFixed(3) ?? '-'})`;
      } else if (limit && change !== null && (limit.change > 0 ? change > limit.change : change < limit.change)) {
        verdict = 'REGRESSION';
        why = `significant (p=${test.p.toFixed(3)}) and beyond --fail-on ${metric}:${limit.change > 0 ? '+' : ''}${Math.round(limit.change * 100)}%`;
      } else {
        verdict = 'changed';
        why = `significant (p=${test.p.toFixed(3)}) but within ${limit ? '--fail-on' : 'no --fail-on for this metric'}`;
      }
      why += leftOutNote;
      rows.push({
        transport,
        metric,
        base: { n: valuesA.length, median: formatMetric({ value: medianA, unit }), spread: spreadOf(valuesA, medianA) },
        next: { n: valuesB.length, median: formatMetric({ value: medianB, unit }), spread: spreadOf(valuesB, medianB) },
        change,
        p: test?.p ?? null,
        verdict,
        why,
      });
    }
  }
  const outcome = rows.some((r) => r.verdict === 'REGRESSION') ? 'regression' : rows.some((r) => r.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { scenario, rows, outcome };
}
