import type { LatencyStats } from '../core/histogram.js';
import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { formatMiB, formatMs, formatOwnDelay, formatPct, methodName } from '../output/format.js';
import { cpuWaitNote, loopDelayNote } from '../load/saturation.js';

/**
 * The tables every scenario shows: per-message latency with loss (the study's 4-2 table, done
 * right), burst completion / fan-out / publish round trip, and resources; then the warnings a
 * reader must see next to the numbers.
 */
function p(stats: LatencyStats, key: 'p50' | 'p95' | 'p99' | 'max'): string {
  return formatMs(stats[key]);
}

/**
 * With agents whose clock offset was estimated (other machines), the most any of their latencies may
 * be off by (µs); null when every latency was taken on one clock.
 */
export function clockUncertaintyUs(result: TransportResult): number | null {
  const agents = result.details?.agents ?? [];
  const estimated = agents.filter((a) => a.clock.kind === 'estimated');
  return estimated.length === 0 ? null : Math.max(...estimated.map((a) => a.clock.uncertaintyUsMax));
}

/** The study's table (Method | ok/failed | P50 | P95 | P99 | Max), per-message latency, plus loss columns. */
export function latencySection(results: readonly TransportResult[]): TableSection {
  // Beside the percentiles, not only in the details: a latency that crossed machines is known to within this.
  const clocks = results.map(clockUncertaintyUs);
  const crossed = clocks.some((us) => us !== null);
  return {
    title: 'Per-message latency, scheduled send -> receipt (ms); ok/failed = subscriber x burst; Lost = lost/expected deliveries',
    headers: ['Method', 'ok/failed', 'P50', 'P95', 'P99', 'Max (ms)', ...(crossed ? ['Clock ± (ms)'] : []), 'Lost', 'Dup', 'Out of order'],
    rows: results.map((r, index) => {
      const l = r.latencyUs.perMessage;
      const clock = clocks[index] ?? null;
      return [
        methodName(r),
        `${r.subscriberBursts.ok}/${r.subscriberBursts.failed}`,
        p(l, 'p50'), p(l, 'p95'), p(l, 'p99'), p(l, 'max'),
        ...(crossed ? [clock === null ? '0' : formatMs(clock)] : []),
        `${r.messages.lost}/${r.messages.expected}`,
        String(r.messages.duplicated),
        String(r.messages.outOfOrder),
      ];
    }),
  };
}

export function burstSection(results: readonly TransportResult[]): TableSection {
  return {
    title: 'Burst completion, fan-out spread, publish round trip (ms)',
    headers: ['Method', 'Burst completion P50', 'P99', 'Fan-out spread P50', 'P99', 'Publish RTT P50', 'P99', 'Send lag P99 (ms)'],
    rows: results.map((r) => [
      methodName(r),
      p(r.latencyUs.burstCompletion, 'p50'), p(r.latencyUs.burstCompletion, 'p99'),
      p(r.latencyUs.fanOutSpread, 'p50'), p(r.latencyUs.fanOutSpread, 'p99'),
      p(r.latencyUs.publishRtt, 'p50'), p(r.latencyUs.publishRtt, 'p99'),
      p(r.latencyUs.sendLag, 'p99'),
    ]),
  };
}

export function resourceSection(results: readonly TransportResult[]): TableSection {
  return {
    title: 'Resources (CPU in % of one core)',
    headers: ['Method', 'Server CPU avg %', 'max %', 'Server RSS max (MiB)', 'Generator CPU avg %', 'max %', 'Own delay P99 ≤ (ms)', 'Reconnects', 'Generator saturated'],
    rows: results.map((r) => [
      methodName(r),
      formatPct(r.serverUsage?.cpuPctAvg), formatPct(r.serverUsage?.cpuPctMax),
      formatMiB(r.serverUsage?.rssBytesMax),
      formatPct(r.generator.cpuPctAvg), formatPct(r.generator.cpuPctMax),
      formatOwnDelay({ ownDelayUs: r.generator.ownDelayP99Us, ownDelayShareOfP99: r.generator.ownDelayP99Us != null && r.latencyUs.perMessage.p99 ? r.generator.ownDelayP99Us / r.latencyUs.perMessage.p99 : null }),
      String(r.connections.reconnects),
      r.generator.saturated ? 'YES' : 'no',
    ]),
  };
}

/** Warnings a reader must see next to the numbers: saturation, failures, errors, pending deliveries. */
export function notesSection(results: readonly TransportResult[]): TableSection {
  const lines: string[] = [];
  for (const r of results) {
    const name = methodName(r);
    for (const note of r.serverUsageNotes ?? []) lines.push(`${name}: ${note}.`);
    if (r.generator.saturated) lines.push(`${name}: the load generator was saturated, so these numbers may measure rtbench, not the server: ${r.generator.saturationReasons.join('; ')}.`);
    const loopDelay = r.generator.eventLoopDelayP99UsMax;
    const disturbed = loopDelay === null ? cpuWaitNote(r.generator.cpuWaitUsMax, r.latencyUs.perMessage.p99) : loopDelayNote(loopDelay, r.generator.ownDelayUsMax ?? 0);
    if (disturbed) lines.push(`${name}: ${disturbed}.`);
    if (r.error) lines.push(`${name}: ${r.error.code}: ${r.error.message}`);
    const errors = Object.entries(r.errors);
    if (errors.length > 0) lines.push(`${name}: errors ${errors.map(([code, n]) => `${code} x${n}`).join(', ')}.`);
    if (r.messages.pending > 0) lines.push(`${name}: ${r.messages.pending} deliveries were still within their deadline when the run stopped (neither received nor lost).`);
  }
  return { title: '', lines };
}

/** With `--agents`: who held which subscribers, what it cost each agent, and on which clock. */
export function agentsSection(results: readonly TransportResult[]): TableSection[] {
  const withAgents = results.flatMap((r) => (r.details?.agents ? [{ r, agents: r.details.agents, clock: r.details.clock }] : []));
  if (withAgents.length === 0) return [];
  const rows = withAgents.flatMap(({ r, agents }) =>
    agents.map((a) => [
      methodName(r),
      a.name,
      a.host,
      String(a.threads),
      String(a.subscribers),
      String(a.connected),
      formatPct(a.cpuPctAvg),
      formatPct(Math.round(a.utilizationMax * 100)),
      a.clock.kind === 'shared' ? `shared (check ${a.clock.estimatedOffsetUs} ± ${a.clock.uncertaintyUs} µs)` : `offset ${a.clock.offsetUs} ± ${a.clock.uncertaintyUsMax} µs`,
      a.lost ? 'LOST' : a.saturated ? 'saturated' : 'ok',
    ]),
  );
  const clocks = [...new Set(withAgents.map(({ clock }) => String(clock)))];
  return [
    {
      title: 'Agents: their share of the subscribers (the totals above include them; generator CPU above is this process only)',
      headers: ['Method', 'Agent', 'Host', 'Threads', 'Subscribers', 'Connected at end', 'CPU avg %', 'Worker busy max %', 'Clock', 'State'],
      rows,
    },
    { title: '', lines: clocks.map((c) => `Clocks: ${c}.`) },
  ];
}

/** The common tables, the scenario's own sections, then the warnings. */
/** The sections every scenario shows around its own; `headline` replaces the per-transport latency table (faults: one row per resume mode). */
export function withCommonSections(results: readonly TransportResult[], own: readonly TableSection[], headline: TableSection | null = null): TableSection[] {
  const notes = notesSection(results);
  return [headline ?? latencySection(results), burstSection(results), resourceSection(results), ...own, ...agentsSection(results), ...(notes.lines?.length ? [notes] : [])];
}
