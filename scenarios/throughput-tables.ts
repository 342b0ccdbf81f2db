import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { formatMs, formatOwnDelay, formatPct, methodName } from '../output/format.js';
import { type Ceiling, type ThroughputDetails, type ThroughputStep, detailsOf } from '../core/details.js';
export type { ThroughputStep } from '../core/details.js';


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

export function throughputSections(results: readonly TransportResult[]): TableSection[] {
  const sections = results.flatMap((result) => {
    const throughput = detailsOf(result, 'throughput');
    if (!throughput) return [];
    return [{ title: `Throughput, ${methodName(result)} (SLO ${throughput.slo}, nothing lost): ${throughput.verdict}; * = generator saturated`, headers: THROUGHPUT_HEADERS, rows: throughputRows(throughput.steps) }];
  });
  const withCeiling = results.flatMap((r) => {
    const throughput = detailsOf(r, 'throughput');
    return throughput?.ceiling ? [{ r, throughput, ceiling: throughput.ceiling }] : [];
  });
  if (withCeiling.length === 0) return sections;
  return [...sections, ceilingSection(withCeiling)];
}

/** The generator's own ceiling beside the knee, per transport. */
function ceilingSection(results: ReadonlyArray<{ r: TransportResult; throughput: ThroughputDetails; ceiling: Ceiling }>): TableSection {
  return {
    title: "The generator's own ceiling on this machine (the same subscribers against the null server), beside the knee; a knee at 70% of it or more may be rtbench's",
    headers: ['Method', 'Knee: held (msg/s)', 'delivering/s', 'Ceiling: rtbench read/s', 'at msg/s', 'stopped by', 'Publishes/s alone, send lag p99 <= 2 ms', '<= 5 ms', "Knee may be rtbench's"],
    rows: results.map(({ r, throughput, ceiling }) => {
      const held = throughput.steps.filter((s) => s.passed).at(-1);
      return [
        methodName(r),
        held ? String(held.offeredPerS) : '-',
        held ? String(held.deliveredPerS) : '-',
        ceiling.deliveredPerS === null ? '-' : `${ceiling.deliveredPerS}${ceiling.limitedBy === 'null server' ? '+' : ''}`,
        ceiling.offeredPerS === null ? '-' : String(ceiling.offeredPerS),
        ceiling.limitedBy,
        ceiling.publishPerS === null ? '-' : String(ceiling.publishPerS),
        ceiling.publishKeptPerS == null ? '-' : String(ceiling.publishKeptPerS),
        throughput.kneeMayBeRtbench ? 'YES' : 'no',
      ];
    }),
  };
}
