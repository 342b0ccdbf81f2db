import type { LatencyStats } from '../core/histogram.js';
import type { ReportSection } from '../core/report.js';
import type { MessageCounts, ProcessUsage, TransportResult } from '../core/result.js';
import { formatMs, formatOwnDelay, formatPct, methodName } from '../report/format.js';
import type { Ceiling } from './ceiling.js';

/** One rate of a throughput run (`details.steps[]`). */
export interface ThroughputStep {
  readonly step: number;
  /** The rate asked for, messages per second over all rooms. */
  readonly offeredPerS: number;
  /** 2 when the rate was tried again because only the generator was flagged the first time (absent in older runs: 1). */
  readonly attempt?: number;
  readonly planned: number;
  /** Publishes the server accepted per second of the step's window (below the offer: the publisher or the server fell behind). */
  readonly achievedPublishPerS: number;
  /** Deliveries received in time per second (rate x subscribers per room, when everything arrives). */
  readonly deliveredPerS: number;
  readonly messages: MessageCounts;
  readonly latencyUs: { readonly perMessage: LatencyStats; readonly fanOutSpread: LatencyStats; readonly publishRtt: LatencyStats; readonly sendLag: LatencyStats };
  readonly server: ProcessUsage;
  readonly generator: ProcessUsage & { readonly saturated: boolean; readonly saturationReasons: readonly string[]; readonly workerUtilizationMax: number; readonly ownDelayUs?: number | null; readonly ownDelayShareOfP99?: number | null };
  readonly passed: boolean;
  /** Why the step failed (loss, SLO, generator, server), empty when it passed. */
  readonly causes: readonly string[];
}

export const THROUGHPUT_HEADERS = ['Offered/s', 'Published/s', 'Delivered/s', 'P50', 'P99', 'Max (ms)', 'Fan-out P99', 'Send lag P99', 'Own delay P99 ≤ (ms)', 'Lost', 'Server CPU avg/max %', 'Generator CPU %', 'Held'];

export function throughputRows(steps: readonly ThroughputStep[]): string[][] {
  return steps.map((s) => [
    `${s.offeredPerS}${s.generator.saturated ? '*' : ''}${(s.attempt ?? 1) > 1 ? ' (again)' : ''}`,
    String(s.achievedPublishPerS),
    String(s.deliveredPerS),
    formatMs(s.latencyUs.perMessage.p50), formatMs(s.latencyUs.perMessage.p99), formatMs(s.latencyUs.perMessage.max),
    formatMs(s.latencyUs.fanOutSpread.p99),
    formatMs(s.latencyUs.sendLag.p99),
    formatOwnDelay(s.generator),
    `${s.messages.lost}/${s.messages.expected}`,
    `${formatPct(s.server.cpuPctAvg)}/${formatPct(s.server.cpuPctMax)}`,
    `${formatPct(s.generator.cpuPctAvg)}/${formatPct(s.generator.cpuPctMax)}`,
    s.passed ? 'yes' : 'NO',
  ]);
}

export function throughputSections(results: readonly TransportResult[]): ReportSection[] {
  const sections = results.flatMap((result) => {
    const steps = result.details?.steps as readonly ThroughputStep[] | undefined;
    if (!steps || result.scenario !== 'throughput') return [];
    return [{ title: `Throughput, ${methodName(result)} (SLO ${String(result.details?.slo ?? '')}, nothing lost): ${String(result.details?.verdict ?? '')}; * = generator saturated`, headers: THROUGHPUT_HEADERS, rows: throughputRows(steps) }];
  });
  const withCeiling = results.filter((r) => r.scenario === 'throughput' && r.details?.ceiling);
  if (withCeiling.length === 0) return sections;
  return [...sections, ceilingSection(withCeiling)];
}

/** The generator's own ceiling beside the knee, per transport. */
function ceilingSection(results: readonly TransportResult[]): ReportSection {
  return {
    title: "The generator's own ceiling on this machine (the same subscribers against the null server), beside the knee; a knee at 70% of it or more may be rtbench's",
    headers: ['Method', 'Knee: held (msg/s)', 'delivering/s', 'Ceiling: rtbench read/s', 'at msg/s', 'stopped by', 'Publishes/s alone, send lag p99 <= 2 ms', '<= 5 ms', "Knee may be rtbench's"],
    rows: results.map((r) => {
      const ceiling = r.details?.ceiling as Ceiling;
      const held = (r.details?.steps as readonly ThroughputStep[]).filter((s) => s.passed).at(-1);
      return [
        methodName(r),
        held ? String(held.offeredPerS) : '-',
        held ? String(held.deliveredPerS) : '-',
        ceiling.deliveredPerS === null ? '-' : `${ceiling.deliveredPerS}${ceiling.limitedBy === 'null server' ? '+' : ''}`,
        ceiling.offeredPerS === null ? '-' : String(ceiling.offeredPerS),
        ceiling.limitedBy,
        ceiling.publishPerS === null ? '-' : String(ceiling.publishPerS),
        ceiling.publishKeptPerS == null ? '-' : String(ceiling.publishKeptPerS),
        r.details?.kneeMayBeRtbench ? 'YES' : 'no',
      ];
    }),
  };
}
