import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import type { TransportResult } from '../core/result.js';
import { TRANSPORTS, TRANSPORT_INFO, transportLabel } from '../core/transports.js';
import { formatKiB, formatMs, formatMsDifference, methodName } from '../output/format.js';
import type { FaultRow } from '../scenarios/faults-tables.js';
import type { RampStep } from '../scenarios/ramp-step.js';
import type { Sources } from './sources.js';
import { detailsOf } from '../core/details.js';
import { TRANSPORT_SOURCES } from '../core/entry-points.js';

/**
 * The study's comparison tables (docs/study.md: 4-1 resources, 4-2 performance, 4-3 operations),
 * filled from measured runs. Every row cites its run; a value measured while the generator was
 * saturated carries a `*`.
 */
export interface StudyTable {
  readonly title: string;
  readonly notes: readonly string[];
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const mark = (result: TransportResult, text: string): string => (result.generator.saturated && text !== '-' ? `${text}*` : text);
const cite = (sources: Sources, result: TransportResult): string => {
  const source = sources.of(result);
  return `[${source.id}](${source.link})`;
};
const SATURATED = '`*` the load generator was saturated in that run: the value may measure rtbench as much as the server.';

/** CPU time of one process per 1,000 deliveries received in time, over the measured seconds (ms). */
export function cpuMsPer1000(result: TransportResult, role: 'server' | 'generator'): number | null {
  const rows = [...result.samples].filter((row) => row.measuring);
  let cpuMs = 0;
  let previousS = 0;
  for (const row of result.samples) {
    const spanS = row.elapsedS - previousS;
    previousS = row.elapsedS;
    const pct = row[`${role}CpuPct`];
    if (row.measuring && pct !== null) cpuMs += (pct / 100) * spanS * 1000;
  }
  if (rows.length === 0 || result.messages.received === 0) return null;
  return (cpuMs / result.messages.received) * 1000;
}

function topStep(result: TransportResult): RampStep | null {
  return detailsOf(result, 'ramp')?.steps.at(-1) ?? null;
}

export function resourcesTable(results: readonly TransportResult[], sources: Sources): StudyTable {
  const ramps = results.filter((r) => r.scenario === 'ramp');
  const rows = (ramps.length > 0 ? ramps : results.filter((r) => r.scenario === 'burst')).map((r) => {
    const ramp = detailsOf(r, 'ramp');
    const passed = ramp?.steps.filter((s) => s.passed).at(-1);
    const top = topStep(r);
    const server = cpuMsPer1000(r, 'server');
    const generator = cpuMsPer1000(r, 'generator');
    return [
      methodName(r),
      String(top?.connectionsHeld ?? r.connections.subscribers),
      mark(r, formatKiB(top?.server?.rssPerConnectionBytes)),
      mark(r, server === null ? '-' : server.toFixed(1)),
      mark(r, generator === null ? '-' : generator.toFixed(1)),
      ramp ? String(passed?.target ?? 'none') : 'not ramped',
      ramp ? (ramp.breakingPoint?.cause ?? ramp.verdict) : '-',
      cite(sources, r),
    ];
  });
  return {
    title: '4-1 Resources: memory and CPU per connection, how many connections hold',
    notes: [
      'RSS per connection: the server memory the largest ramp step added, over its new connections. CPU per 1,000 deliveries: CPU time over the measured seconds divided by the deliveries received in time.',
      ...(rows.some((row) => row.some((cell) => cell.endsWith('*'))) ? [SATURATED] : []),
    ],
    headers: ['Transport', 'Connections', 'Server RSS/conn (KiB)', 'Server CPU ms per 1,000 deliveries', 'Generator CPU ms per 1,000', 'Highest step passed', 'What stopped it', 'Source'],
    rows,
  };
}

export function performanceTable(results: readonly TransportResult[], sources: Sources): StudyTable {
  const bursts = results.filter((r) => r.scenario === 'burst');
  const throughputs = results.filter((r) => r.scenario === 'throughput');
  const transports = TRANSPORTS.filter((t) => results.some((r) => r.transport === t));
  const rows: string[][] = [];
  /** Browser minus Node subscribers of the same burst run, per transport. */
  const calibration: string[] = [];
  for (const transport of transports) {
    const held = throughputs.filter((r) => r.transport === transport);
    const throughput = held.map((r) => {
      const details = detailsOf(r, 'throughput');
      const rate = details?.sustainedRatePerS ?? null;
      return `${mark(r, rate === null ? 'none' : `${rate}/s`)} (${details?.slo ?? ''}) ${cite(sources, r)}`;
    });
    const burstRuns = bursts.filter((r) => r.transport === transport);
    for (const r of burstRuns.length > 0 ? burstRuns : []) {
      const l = r.latencyUs;
      rows.push([
        methodName(r),
        mark(r, formatMs(l.perMessage.p50)), mark(r, formatMs(l.perMessage.p99)), mark(r, formatMs(l.perMessage.p999)),
        mark(r, formatMs(l.burstCompletion.p50)), mark(r, formatMs(l.fanOutSpread.p99)), mark(r, formatMs(l.publishRtt.p50)),
        `${r.messages.lost}/${r.messages.expected}`,
        throughput.join('; ') || '-',
        `${cite(sources, r)} (${String(r.config.delay ?? 0)} ms link)`,
      ]);
      const browsers = r.details?.scenario === 'burst' ? r.details.browsers : undefined;
      if (browsers) {
        const b = browsers.latencyUs;
        rows.push([`${transportLabel(transport)}, Chromium`, formatMs(b.p50), formatMs(b.p99), formatMs(b.p999), '-', '-', '-', `${browsers.messages.lost}/${browsers.messages.expected}`, '-', cite(sources, r)]);
        calibration.push(`${transportLabel(transport)} p50 ${formatMsDifference(b.p50, l.perMessage.p50)}, p99 ${formatMsDifference(b.p99, l.perMessage.p99)}`);
      }
    }
    if (burstRuns.length === 0 && held.length > 0) rows.push([transportLabel(transport), '-', '-', '-', '-', '-', '-', '-', throughput.join('; '), '-']);
  }
  return {
    title: '4-2 Performance: latency and throughput',
    notes: [
      'Latency per message runs from its scheduled send to its receipt (ms); burst completion from a burst\'s first scheduled send to its last receipt anywhere; fan-out spread from the first to the last subscriber of one message. Throughput: the highest publish rate (messages/s over all rooms) that held the SLO and lost nothing.',
      ...(rows.some((row) => row.some((cell) => /\*/.test(cell.replace(/`\*`/g, '')))) ? [SATURATED] : []),
      ...(calibration.length > 0 ? [`Chromium rows: subscribers that were headless Chromium pages in the same run, stamped in the page. Calibration, browser minus Node (ms): ${calibration.join('; ')}.`] : []),
    ],
    headers: ['Transport', 'P50', 'P99', 'P99.9', 'Burst completion P50', 'Fan-out P99', 'Publish RTT P50', 'Lost', 'Throughput at the SLO', 'Source'],
    rows,
  };
}


/** Lines of code of a source file, without blank lines and comments. */
export function codeLines(path: string): number | null {
  if (!existsSync(path)) return null;
  let inBlock = false;
  let count = 0;
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      continue;
    }
    count++;
  }
  return count;
}


/** Counts a file's lines; a test passes its own, so fixture output does not change with the code. */
export type LineCounter = (file: string) => number | null;

function sum(files: readonly string[], count: LineCounter): string {
  const counts = files.map((file) => count(file));
  return counts.some((c) => c === null) ? '-' : String(counts.reduce((a, b) => (a ?? 0) + (b ?? 0), 0));
}

export function operationsTables(results: readonly TransportResult[], sources: Sources, count: LineCounter = (file) => codeLines(join(packageRoot, file))): StudyTable[] {
  const transports = TRANSPORTS.filter((t) => results.some((r) => r.transport === t));
  const needs: StudyTable = {
    title: '4-3 Operations: what each transport needs, and what it costs to write',
    notes: ['Code: lines (without blank lines and comments) of rtbench\'s own reference server plugin and subscriber client, counted from the source; the shared bus, reconnect loop and HTTP plumbing are not in them.'],
    headers: ['Transport', 'Delivery', 'Needs from a proxy or load balancer', 'Server plugin (lines)', 'Client (lines)'],
    rows: transports.map((t) => [transportLabel(t), TRANSPORT_INFO[t].direction, TRANSPORT_INFO[t].needsFromProxy, sum(TRANSPORT_SOURCES[t].server, count), sum(TRANSPORT_SOURCES[t].client, count)]),
  };
  const faultRows: string[][] = [];
  for (const r of results.filter((x) => x.scenario === 'faults')) {
    const rows = detailsOf(r, 'faults')?.faults ?? [];
    for (const fault of [...new Set(rows.map((f) => f.fault))]) {
      const on = rows.find((f) => f.fault === fault && f.resume);
      const off = rows.find((f) => f.fault === fault && !f.resume);
      const cell = (f: FaultRow | undefined, what: 'recovery' | 'lost'): string =>
        f === undefined ? 'not run' : what === 'recovery' ? (f.recoveryMs === null ? '-' : `${f.recoveryMs} ms`) : `${f.messages.lost}/${f.messages.expected}`;
      faultRows.push([transportLabel(r.transport), fault, cell(on, 'recovery'), mark(r, cell(on, 'lost')), cell(off, 'recovery'), mark(r, cell(off, 'lost')), cite(sources, r)]);
    }
  }
  const faults: StudyTable = {
    title: '4-3 Operations: recovery and loss when the link or the server fails, with and without resume',
    notes: ['Recovery: from the fault until every subscriber was connected again on a new connection (- when none was needed). Lost: deliveries lost over the window around the fault.'],
    headers: ['Transport', 'Fault', 'Recovery, resume on', 'Lost, resume on', 'Recovery, resume off', 'Lost, resume off', 'Source'],
    rows: faultRows,
  };
  return faultRows.length > 0 ? [needs, faults] : [needs];
}
