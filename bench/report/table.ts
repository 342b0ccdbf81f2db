import type { LatencyStats } from '../histogram.js';
import type { RunSummary, TransportResult } from '../result.js';
import type { RampStep } from '../../scenarios/ramp-step.js';

const METHOD_NAMES: Record<string, string> = { ws: 'WebSocket', sse: 'SSE', 'long-polling': 'Long Polling' };

export function methodName(result: TransportResult): string {
  let name = METHOD_NAMES[result.transport] ?? result.transport;
  if (result.config.resume === false) name += ' (no resume)';
  if (result.state !== 'completed') name += ` [${result.state}]`;
  return name;
}

/** Whole microseconds shown as milliseconds: two decimals below 100 ms, one above. */
export function formatMs(us: number | null): string {
  if (us === null) return '-';
  const ms = us / 1000;
  return ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}

function formatPct(value: number | null): string {
  return value === null ? '-' : `${Math.round(value)}`;
}

function formatMiB(bytes: number | null): string {
  return bytes === null ? '-' : (bytes / 1024 / 1024).toFixed(1);
}

/** A Markdown pipe table with padded columns, so it reads the same in a terminal and in a document. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function p(stats: LatencyStats, key: 'p50' | 'p95' | 'p99' | 'max'): string {
  return formatMs(stats[key]);
}

/** The seed's table (Method | ok/failed | P50 | P95 | P99 | Max), per-message latency, plus loss columns. */
export function latencyTable(results: readonly TransportResult[]): string {
  return renderTable(
    ['Method', 'ok/failed', 'P50', 'P95', 'P99', 'Max (ms)', 'Lost', 'Dup', 'Out of order'],
    results.map((r) => {
      const l = r.latencyUs.perMessage;
      return [
        methodName(r),
        `${r.subscriberBursts.ok}/${r.subscriberBursts.failed}`,
        p(l, 'p50'), p(l, 'p95'), p(l, 'p99'), p(l, 'max'),
        `${r.messages.lost}/${r.messages.expected}`,
        String(r.messages.duplicated),
        String(r.messages.outOfOrder),
      ];
    }),
  );
}

export function burstTable(results: readonly TransportResult[]): string {
  return renderTable(
    ['Method', 'Burst completion P50', 'P99', 'Fan-out spread P50', 'P99', 'Publish RTT P50', 'P99', 'Send lag P99 (ms)'],
    results.map((r) => [
      methodName(r),
      p(r.latencyUs.burstCompletion, 'p50'), p(r.latencyUs.burstCompletion, 'p99'),
      p(r.latencyUs.fanOutSpread, 'p50'), p(r.latencyUs.fanOutSpread, 'p99'),
      p(r.latencyUs.publishRtt, 'p50'), p(r.latencyUs.publishRtt, 'p99'),
      p(r.latencyUs.sendLag, 'p99'),
    ]),
  );
}

export function resourceTable(results: readonly TransportResult[]): string {
  return renderTable(
    ['Method', 'Server CPU avg %', 'max %', 'Server RSS max (MiB)', 'Generator CPU avg %', 'max %', 'Reconnects', 'Generator saturated'],
    results.map((r) => [
      methodName(r),
      formatPct(r.serverUsage?.cpuPctAvg ?? null), formatPct(r.serverUsage?.cpuPctMax ?? null),
      formatMiB(r.serverUsage?.rssBytesMax ?? null),
      formatPct(r.generator.cpuPctAvg), formatPct(r.generator.cpuPctMax),
      String(r.connections.reconnects),
      r.generator.saturated ? 'YES' : 'no',
    ]),
  );
}

/** Warnings a reader must see next to the numbers: saturation, failures, errors. */
export function notes(results: readonly TransportResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const name = methodName(r);
    if (r.generator.saturated) lines.push(`${name}: the load generator was saturated, so these numbers may measure rtbench, not the server: ${r.generator.saturationReasons.join('; ')}.`);
    if (r.error) lines.push(`${name}: ${r.error.code}: ${r.error.message}`);
    const errors = Object.entries(r.errors);
    if (errors.length > 0) lines.push(`${name}: errors ${errors.map(([code, n]) => `${code} x${n}`).join(', ')}.`);
    if (r.messages.pending > 0) lines.push(`${name}: ${r.messages.pending} deliveries were still within their deadline when the run stopped (neither received nor lost).`);
  }
  return lines;
}

function kib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : (bytes / 1024).toFixed(1);
}

/** One ramp's per-step table; `*` marks a step whose generator was saturated. */
export function rampTable(result: TransportResult): string | null {
  const steps = result.details?.steps as readonly RampStep[] | undefined;
  if (!steps) return null;
  return renderTable(
    ['Step', 'Held', 'Connect P50', 'P99 (ms)', 'Connect errors', 'Error rate', 'Latency P50', 'P99', 'Max (ms)', 'Fan-out P99', 'Server CPU avg/max %', 'Server RSS (MiB)', 'RSS/conn (KiB)', 'Generator CPU %', 'Worker busy %'],
    steps.map((s) => [
      `${s.target}${s.generator.saturated ? '*' : ''}`,
      String(s.connectionsHeld),
      formatMs(s.connect.latencyUs.p50), formatMs(s.connect.latencyUs.p99),
      String(s.connect.failed),
      `${(s.errorRate * 100).toFixed(2)}%`,
      formatMs(s.latencyUs.perMessage.p50), formatMs(s.latencyUs.perMessage.p99), formatMs(s.latencyUs.perMessage.max),
      formatMs(s.latencyUs.fanOutSpread.p99),
      s.server ? `${formatPct(s.server.cpuPctAvg)}/${formatPct(s.server.cpuPctMax)}` : '-',
      formatMiB(s.server?.rssBytesMax ?? null),
      kib(s.server?.rssPerConnectionBytes),
      `${formatPct(s.generator.cpuPctAvg)}/${formatPct(s.generator.cpuPctMax)}`,
      String(Math.round(s.generator.workerUtilizationMax * 100)),
    ]),
  );
}

interface SoakDetails {
  readonly intervals: readonly unknown[];
  readonly interrupted: boolean;
  readonly measuredS: number;
  readonly plannedS: number;
  readonly totals: { readonly disconnects: number; readonly reconnects: number; readonly failedReconnects: number; readonly timeouts: number };
  readonly server: { readonly rssStartBytes: number | null; readonly rssEndBytes: number | null; readonly rssSlopeBytesPerHour: number | null; readonly cpuPctAvg: number | null };
}

function signedMiB(bytes: number | null): string {
  return bytes === null ? '-' : `${bytes >= 0 ? '+' : ''}${(bytes / 1024 / 1024).toFixed(1)}`;
}

/** The soak summary: one row per transport. */
export function soakTable(results: readonly TransportResult[]): string | null {
  const soaks = results.filter((r) => (r.details as SoakDetails | null)?.intervals !== undefined);
  if (soaks.length === 0) return null;
  return renderTable(
    ['Method', 'Measured', 'Connections', 'Disconnects', 'Reconnects', 'Timeouts', 'Lost', 'Dup', 'P50', 'P99', 'Max (ms)', 'Server RSS start -> end (MiB)', 'RSS slope (MiB/h)', 'Server CPU avg %'],
    soaks.map((r) => {
      const d = r.details as unknown as SoakDetails;
      const l = r.latencyUs.perMessage;
      return [
        methodName(r),
        `${d.plannedS >= 120 ? `${Math.round(d.measuredS / 60)}/${Math.round(d.plannedS / 60)} min` : `${d.measuredS}/${d.plannedS} s`}${d.interrupted ? ' (interrupted)' : ''}`,
        String(r.connections.subscribers),
        String(d.totals.disconnects), String(d.totals.reconnects), String(d.totals.timeouts),
        `${r.messages.lost}/${r.messages.expected}`, String(r.messages.duplicated),
        p(l, 'p50'), p(l, 'p99'), p(l, 'max'),
        `${formatMiB(d.server.rssStartBytes)} -> ${formatMiB(d.server.rssEndBytes)}`,
        signedMiB(d.server.rssSlopeBytesPerHour),
        formatPct(d.server.cpuPctAvg),
      ];
    }),
  );
}

interface FaultRowLike {
  readonly resume: boolean;
  readonly fault: string;
  readonly recoveryMs: number | null;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly gaps: number;
  readonly messages: { readonly expected: number; readonly lost: number; readonly late: number; readonly duplicated: number; readonly outOfOrder: number };
  readonly publishErrors: number;
}

/** The faults table: one row per transport, resume mode and fault. */
export function faultsTable(results: readonly TransportResult[]): string | null {
  const rows = results.filter((r) => r.scenario === 'faults').flatMap((r) => ((r.details?.faults as FaultRowLike[] | undefined) ?? []).map((f) => ({ r, f })));
  if (rows.length === 0) return null;
  return renderTable(
    ['Method', 'Resume', 'Fault', 'Recovery (ms)', 'Disconnects', 'Reconnects', 'Failed attempts', 'Lost', 'Late', 'Dup', 'Out of order', 'Gap signals', 'Publish errors'],
    rows.map(({ r, f }) => [
      METHOD_NAMES[r.transport] ?? r.transport,
      f.resume ? 'on' : 'off',
      f.fault,
      f.recoveryMs === null ? '-' : String(f.recoveryMs),
      String(f.disconnects), String(f.reconnects), String(f.failedReconnects),
      `${f.messages.lost}/${f.messages.expected}`, String(f.messages.late), String(f.messages.duplicated), String(f.messages.outOfOrder),
      String(f.gaps), String(f.publishErrors),
    ]),
  );
}

/** The three tables and the notes, as printed on the terminal and written into summary.md. */
export function renderTables(summary: RunSummary): string {
  const results = summary.transports;
  const parts = [
    'Per-message latency, scheduled send -> receipt (ms); ok/failed = subscriber x burst; Lost = lost/expected deliveries',
    latencyTable(results),
    '',
    'Burst completion, fan-out spread, publish round trip (ms)',
    burstTable(results),
    '',
    'Resources (CPU in % of one core)',
    resourceTable(results),
  ];
  const faults = faultsTable(results);
  if (faults) parts.push('', 'Faults (Recovery: from the fault until every subscriber was connected again on a new connection; - when none was needed or it did not happen in the window)', faults);
  const soak = soakTable(results);
  if (soak) parts.push('', 'Soak (latency in ms; a steady positive RSS slope over a long run means a leak)', soak);
  for (const result of results) {
    const table = rampTable(result);
    if (!table) continue;
    const verdict = String(result.details?.verdict ?? '');
    const breaking = result.details?.breakingPoint as { cause?: string } | null | undefined;
    parts.push('', `Ramp, ${methodName(result)}: ${verdict}${breaking?.cause ? ` (${breaking.cause})` : ''}; * = generator saturated at that step`, table);
  }
  const warnings = notes(results);
  if (warnings.length > 0) parts.push('', ...warnings.map((w) => `- ${w}`));
  return parts.join('\n');
}
