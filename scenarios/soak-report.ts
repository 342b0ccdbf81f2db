import type { LatencyStats } from '../bench/histogram.js';
import type { MessageCounts } from '../bench/recorder.js';
import type { SampleRow } from '../bench/sampler.js';

/** One soak interval (one message per room): connection health, delivery and resources. */
export interface SoakInterval {
  readonly interval: number;
  /** Seconds since measuring started, at the end of this interval. */
  readonly elapsedS: number;
  readonly connectionsAlive: number;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  /** Errors whose code names a timeout (connect, headers, body). */
  readonly timeouts: number;
  readonly gaps: number;
  readonly messages: MessageCounts;
  readonly latencyUs: LatencyStats;
  readonly serverCpuPct: number | null;
  readonly serverRssBytes: number | null;
  readonly generatorCpuPct: number | null;
  readonly generatorRssBytes: number | null;
  /** Faults injected since the previous row. */
  readonly faults: readonly string[];
}

/**
 * Least-squares slope of memory over time, in bytes per hour: a server that leaks shows a steady
 * positive slope over a long soak; noise around a flat line gives a slope near zero.
 */
export function memorySlopeBytesPerHour(points: ReadonlyArray<{ readonly elapsedS: number; readonly bytes: number | null }>): number | null {
  const usable = points.filter((p): p is { elapsedS: number; bytes: number } => p.bytes !== null);
  if (usable.length < 3) return null;
  const n = usable.length;
  const meanX = usable.reduce((a, p) => a + p.elapsedS, 0) / n;
  const meanY = usable.reduce((a, p) => a + p.bytes, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of usable) {
    covariance += (p.elapsedS - meanX) * (p.bytes - meanY);
    variance += (p.elapsedS - meanX) ** 2;
  }
  return variance === 0 ? null : Math.round((covariance / variance) * 3600);
}

export function rssSeries(rows: readonly SampleRow[], role: 'server' | 'generator'): Array<{ elapsedS: number; bytes: number | null }> {
  return rows.filter((r) => r.measuring).map((r) => ({ elapsedS: r.elapsedS, bytes: r[`${role}RssBytes`] }));
}

const CSV_COLUMNS = [
  'interval', 'elapsedS', 'connectionsAlive', 'disconnects', 'reconnects', 'failedReconnects', 'timeouts', 'gaps',
  'expected', 'received', 'lost', 'late', 'duplicated', 'outOfOrder', 'latencyP50Us', 'latencyP99Us', 'latencyMaxUs',
  'serverCpuPct', 'serverRssBytes', 'generatorCpuPct', 'generatorRssBytes', 'faults',
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
        i.latencyUs.p50, i.latencyUs.p99, i.latencyUs.max, i.serverCpuPct, i.serverRssBytes, i.generatorCpuPct, i.generatorRssBytes, i.faults.join(' '),
      ].map(cell).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
