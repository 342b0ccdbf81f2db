import type { RunFile, TableSection } from '../core/sections.js';
import { formatMiB, formatMs, formatPct, formatSignedMiB, methodName } from '../output/format.js';
import type { ProcessUsage, SampleRow, TransportResult } from '../core/result.js';
import { LinearFit } from '../core/linear-fit.js';
import { UsageFold } from '../run/sampler.js';
import { type IntervalTrend, type SoakInterval, detailsOf } from '../core/details.js';
import { SLOPE_MIN_S } from '../analysis/metrics.js';
import { formatDurationMs } from '../core/duration.js';
export type { SoakInterval, IntervalTrend } from '../core/details.js';


/**
 * Least-squares slope of memory over time, in bytes per hour: a server that leaks shows a steady
 * positive slope over a long soak; noise around a flat line gives a slope near zero.
 */
export function memorySlopeBytesPerHour(points: Iterable<{ readonly elapsedS: number; readonly bytes: number | null }>): number | null {
  const fit = new LinearFit();
  for (const p of points) if (p.bytes !== null) fit.add(p.elapsedS, p.bytes);
  return bytesPerHour(fit);
}

/** A fit of bytes over seconds as bytes per hour; null below three readings. */
function bytesPerHour(fit: LinearFit): number | null {
  const slope = fit.count < 3 ? null : fit.slope();
  return slope === null ? null : Math.round(slope * 3600);
}

/**
 * The slope of the later half of a series (by time): what is left once a process has settled. In the
 * first part of a soak the generator's RSS still grows as V8 and the allocator reach their working
 * sizes, and a fit over the whole run carries that; a leak goes on growing in the second half,
 * settling does not.
 */
export function secondHalfSlopeBytesPerHour(points: ReadonlyArray<{ readonly elapsedS: number; readonly bytes: number | null }>): number | null {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) return null;
  const middleS = (first.elapsedS + last.elapsedS) / 2;
  return memorySlopeBytesPerHour(points.filter((p) => p.elapsedS >= middleS));
}


/**
 * One per-interval memory reading over the soak: first and last reading, the least-squares slope
 * per hour over the run and over its second half, and the growth per delivery between the first
 * and the last reading. The first interval is left out: it holds one-time allocations (JIT,
 * buffers, the first round's data). Null when no later interval has the reading.
 */
export function intervalTrend(intervals: readonly SoakInterval[], bytesOf: (interval: SoakInterval) => number | undefined): IntervalTrend | null {
  const points = intervals.slice(1).flatMap((i) => {
    const bytes = bytesOf(i);
    return bytes === undefined ? [] : [{ elapsedS: i.elapsedS, bytes, received: i.messages.received }];
  });
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) return null;
  const deliveries = points.slice(1).reduce((n, p) => n + p.received, 0);
  return {
    startBytes: first.bytes,
    endBytes: last.bytes,
    slopeBytesPerHour: memorySlopeBytesPerHour(points),
    slopeSecondHalfBytesPerHour: secondHalfSlopeBytesPerHour(points),
    growthBytesPerDelivery: deliveries > 0 ? Math.round(((last.bytes - first.bytes) / deliveries) * 100) / 100 : null,
  };
}

/** The generator's heap in use after GC: what a leak of JavaScript objects grows. */
export function heapTrend(intervals: readonly SoakInterval[]): IntervalTrend | null {
  return intervalTrend(intervals, (i) => i.generatorHeapAfterGcBytes);
}

/**
 * The generator's RSS outside V8's heap, both read right after the interval's GCs: what a native
 * leak (buffers, the allocator's arenas) grows, without the garbage and the pages V8 commits and
 * hands back between GCs that make the per-second RSS move in steps.
 */
export function outsideHeapTrend(intervals: readonly SoakInterval[]): IntervalTrend | null {
  return intervalTrend(intervals, (i) =>
    i.generatorRssAfterGcBytes === undefined || i.generatorHeapResidentBytes === undefined ? undefined : i.generatorRssAfterGcBytes - i.generatorHeapResidentBytes,
  );
}

/** The soak's RSS figures of the server and the generator, and the server's usage, over the measured seconds. */
export interface RssTrends {
  readonly server: ProcessUsage & {
    readonly rssStartBytes: number | null;
    readonly rssEndBytes: number | null;
    readonly rssSlopeBytesPerHour: number | null;
    readonly rssSlopeSecondHalfBytesPerHour: number | null;
  };
  readonly generatorRssSlopeBytesPerHour: number | null;
  readonly generatorRssSlopeSecondHalfBytesPerHour: number | null;
}

/**
 * RSS trends over the measured seconds, the slopes leaving out the first `settleS` of them. A soak's
 * slope is fitted from the end of its first interval, as the heap trend is: in that first minute the
 * generator's allocator hands back what connecting the subscribers used (tens of MiB of RSS),
 * and a slope fitted across that drop reads lower than the steady trend after it, so it could hide a
 * leak. The second-half slope starts halfway between the first and the last second fitted.
 *
 * Two passes over `rows`, which must iterate afresh each time (a SampleLog does), keeping no row: the
 * first finds where the fits start and where the second half does, the second fits. A checkpoint of a
 * long soak reads most rows back from disk, and an array of them all was the garbage that held the
 * generator's RSS up after every checkpoint.
 */
export function rssTrends(rows: Iterable<SampleRow>, settleS: number): RssTrends {
  let fromS: number | null = null;
  let firstFittedS: number | null = null;
  let lastFittedS: number | null = null;
  let rssStartBytes: number | null = null;
  let rssEndBytes: number | null = null;
  const serverUsage = new UsageFold('server');
  for (const row of rows) {
    if (!row.measuring) continue;
    fromS ??= row.elapsedS + settleS;
    serverUsage.add(row);
    if (row.serverRssBytes !== null) {
      rssStartBytes ??= row.serverRssBytes;
      rssEndBytes = row.serverRssBytes;
    }
    if (row.elapsedS >= fromS) {
      firstFittedS ??= row.elapsedS;
      lastFittedS = row.elapsedS;
    }
  }
  const fits = { server: new LinearFit(), generator: new LinearFit() };
  const secondHalf = { server: new LinearFit(), generator: new LinearFit() };
  if (fromS !== null && firstFittedS !== null && lastFittedS !== null) {
    const middleS = (firstFittedS + lastFittedS) / 2;
    for (const row of rows) {
      if (!row.measuring || row.elapsedS < fromS) continue;
      for (const role of ['server', 'generator'] as const) {
        const bytes = row[`${role}RssBytes`];
        if (bytes === null) continue;
        fits[role].add(row.elapsedS, bytes);
        if (row.elapsedS >= middleS) secondHalf[role].add(row.elapsedS, bytes);
      }
    }
  }
  return {
    server: {
      rssStartBytes,
      rssEndBytes,
      rssSlopeBytesPerHour: bytesPerHour(fits.server),
      rssSlopeSecondHalfBytesPerHour: bytesPerHour(secondHalf.server),
      ...serverUsage.result(),
    },
    generatorRssSlopeBytesPerHour: bytesPerHour(fits.generator),
    generatorRssSlopeSecondHalfBytesPerHour: bytesPerHour(secondHalf.generator),
  };
}

const CSV_COLUMNS = [
  'interval', 'elapsedS', 'connectionsAlive', 'disconnects', 'reconnects', 'failedReconnects', 'timeouts', 'gaps',
  'expected', 'received', 'lost', 'late', 'duplicated', 'outOfOrder', 'latencyP50Us', 'latencyP99Us', 'latencyMaxUs',
  'serverCpuPct', 'serverRssBytes', 'generatorCpuPct', 'generatorRssBytes', 'generatorHeapAfterGcBytes', 'generatorHeapResidentBytes', 'generatorRssAfterGcBytes', 'faults',
] as const;

/** intervals.csv: one row per transport per soak interval. */
export function intervalsCsv(rows: ReadonlyArray<{ transport: string; interval: SoakInterval }>): string {
  const cell = (value: unknown): string => (value === null || value === undefined ? '' : String(value));
  const lines = [['transport', ...CSV_COLUMNS].join(',')];
  for (const { transport, interval: i } of rows) {
    lines.push(
      [
        transport, i.interval, i.elapsedS, i.connectionsAlive, i.disconnects, i.reconnects, i.failedReconnects, i.timeouts, i.gaps,
        i.messages.expected, i.messages.received, i.messages.lost, i.messages.late, i.messages.duplicated, i.messages.outOfOrder,
        i.latencyUs.p50, i.latencyUs.p99, i.latencyUs.max, i.serverCpuPct, i.serverRssBytes, i.generatorCpuPct, i.generatorRssBytes, i.generatorHeapAfterGcBytes, i.generatorHeapResidentBytes, i.generatorRssAfterGcBytes, i.faults.join(' '),
      ].map(cell).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}


/** The soak summary: one row per transport. */
export function soakSection(results: readonly TransportResult[]): TableSection[] {
  const soaks = results.flatMap((r) => {
    const d = detailsOf(r, 'soak');
    return d ? [{ r, d }] : [];
  });
  if (soaks.length === 0) return [];
  const short = soaks.filter(({ d }) => d.measuredS < SLOPE_MIN_S).map(({ r }) => methodName(r));
  const warning = short.length === 0 ? [] : [`Memory slopes of ${short.join(', ')}: measured over less than ${formatDurationMs(SLOPE_MIN_S * 1000)}, too short to tell a leak from memory settling (V8 and the allocator move RSS by several MiB within minutes); a --threshold on them is not measured.`];
  const pair = (all: number | null | undefined, half: number | null | undefined): string => `${formatSignedMiB(all ?? null)}, ${formatSignedMiB(half ?? null)}`;
  // Three tables of a few columns each rather than one of 18: each fits a terminal of 120 columns.
  return [
    {
      title: 'Soak: connections and delivery (latency in ms)',
      headers: ['Method', 'Measured', 'Connections', 'Disconnects', 'Reconnects', 'Timeouts', 'Lost', 'Dup', 'P50', 'P99', 'Max (ms)'],
      rows: soaks.map(({ r, d }) => [
        methodName(r),
        `${d.plannedS >= 120 ? `${Math.round(d.measuredS / 60)}/${Math.round(d.plannedS / 60)} min` : `${d.measuredS}/${d.plannedS} s`}${d.interrupted ? ' (interrupted)' : ''}`,
        String(r.connections.subscribers),
        String(d.totals.disconnects), String(d.totals.reconnects), String(d.totals.timeouts),
        `${r.messages.lost}/${r.messages.expected}`, String(r.messages.duplicated),
        formatMs(r.latencyUs.perMessage.p50), formatMs(r.latencyUs.perMessage.p99), formatMs(r.latencyUs.perMessage.max),
      ]),
    },
    {
      title: "Soak: the server's memory (MiB; slopes in MiB/h over the run, then its second half; a steady positive slope over a long run means a leak)",
      headers: ['Method', 'Server RSS start -> end', 'RSS slope: all, 2nd half', 'Server CPU avg %'],
      rows: soaks.map(({ r, d }) => [
        methodName(r),
        `${formatMiB(d.server.rssStartBytes)} -> ${formatMiB(d.server.rssEndBytes)}`,
        pair(d.server.rssSlopeBytesPerHour, d.server.rssSlopeSecondHalfBytesPerHour),
        formatPct(d.server.cpuPctAvg),
      ]),
    },
    {
      title: "Soak: the generator's memory (MiB and MiB/h as above; heap and RSS outside it read after each round's GC)",
      headers: ['Method', 'RSS slope: all, 2nd half', 'Heap after GC start -> end', 'Heap slope', 'Outside heap slope: all, 2nd half'],
      rows: soaks.map(({ r, d }) => [
        methodName(r),
        pair(d.generatorRssSlopeBytesPerHour, d.generatorRssSlopeSecondHalfBytesPerHour),
        d.generatorHeap ? `${formatMiB(d.generatorHeap.startBytes)} -> ${formatMiB(d.generatorHeap.endBytes)}` : '-',
        formatSignedMiB(d.generatorHeap?.slopeBytesPerHour ?? null),
        d.generatorRssOutsideHeap ? pair(d.generatorRssOutsideHeap.slopeBytesPerHour, d.generatorRssOutsideHeap.slopeSecondHalfBytesPerHour) : '-',
      ]),
      ...(warning.length > 0 ? { lines: warning } : {}),
    },
  ];
}

/** intervals.csv beside summary.json, when any transport soaked. */
export function soakFiles(results: readonly TransportResult[]): RunFile[] {
  const rows = results.flatMap((t) => (detailsOf(t, 'soak')?.intervals ?? []).map((interval) => ({ transport: t.transport, interval })));
  return rows.length > 0 ? [{ name: 'intervals.csv', content: intervalsCsv(rows) }] : [];
}
