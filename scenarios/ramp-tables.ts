import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { formatKiB, formatMiB, formatMs, formatOwnDelay, formatPct, methodName } from '../output/format.js';
import type { RampStep } from './ramp-step.js';
import { detailsOf } from '../core/details.js';

export const RAMP_HEADERS = ['Step', 'Held', 'Connect P50', 'P99 (ms)', 'Connect errors', 'Error rate', 'Latency P50', 'P99', 'Max (ms)', 'Fan-out P99', 'Own delay P99 ≤ (ms)', 'Server CPU avg/max %', 'Server RSS (MiB)', 'RSS/conn (KiB)', 'Generator CPU %', 'Worker busy %'];

/** One ramp's per-step rows; `*` marks a step whose generator was saturated. */
export function rampRows(steps: readonly RampStep[]): string[][] {
  return steps.map((s) => [
    `${s.target}${s.generator.saturated ? '*' : ''}`,
    String(s.connectionsHeld),
    formatMs(s.connect.latencyUs.p50), formatMs(s.connect.latencyUs.p99),
    String(s.connect.failed),
    `${(s.errorRate * 100).toFixed(2)}%`,
    formatMs(s.latencyUs.perMessage.p50), formatMs(s.latencyUs.perMessage.p99), formatMs(s.latencyUs.perMessage.max),
    formatMs(s.latencyUs.fanOutSpread.p99),
    formatOwnDelay(s.generator),
    s.server ? `${formatPct(s.server.cpuPctAvg)}/${formatPct(s.server.cpuPctMax)}` : '-',
    formatMiB(s.server?.rssBytesMax ?? null),
    formatKiB(s.server?.rssPerConnectionBytes),
    `${formatPct(s.generator.cpuPctAvg)}/${formatPct(s.generator.cpuPctMax)}`,
    String(Math.round(s.generator.workerUtilizationMax * 100)),
  ]);
}

/** A section per transport: its verdict, and its steps. */
export function rampSections(results: readonly TransportResult[]): TableSection[] {
  return results.flatMap((result) => {
    const ramp = detailsOf(result, 'ramp');
    if (!ramp) return [];
    const breaking = ramp.breakingPoint;
    return [{ title: `Ramp, ${methodName(result)}: ${ramp.verdict}${breaking?.cause ? ` (${breaking.cause})` : ''}; * = generator saturated at that step`, headers: RAMP_HEADERS, rows: rampRows(ramp.steps) }];
  });
}
