import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { transportLabel } from '../core/transports.js';
import { type FaultRow, detailsOf } from '../core/details.js';
import { latencyStats, mergeEncoded } from '../core/histogram.js';
import { formatMs, methodName } from '../output/format.js';
export type { FaultRow } from '../core/details.js';


/**
 * The headline of a faults run: per transport and resume mode, latency over that mode's windows and
 * its counts, since a transport's totals mix runs with and without resume. Null for runs made
 * before the windows kept their histograms (the per-transport table is shown then).
 */
export function faultsHeadline(results: readonly TransportResult[]): TableSection | null {
  const modes = results.flatMap((r) => {
    const rows = detailsOf(r, 'faults')?.faults ?? [];
    return [true, false].flatMap((resume) => {
      const of = rows.filter((f) => f.resume === resume);
      return of.length === 0 ? [] : [{ r, resume, of }];
    });
  });
  if (modes.length === 0 || modes.some(({ of }) => of.some((f) => f.histogram === undefined))) return null;
  return {
    title: 'Per-message latency by resume mode, scheduled send -> receipt over every fault window (ms); Lost = lost/expected deliveries',
    headers: ['Method', 'Resume', 'P50', 'P95', 'P99', 'Max (ms)', 'Lost', 'Late', 'Dup', 'Out of order'],
    rows: modes.map(({ r, resume, of }) => {
      const l = latencyStats(mergeEncoded(of.map((f) => f.histogram as string)));
      const sum = (pick: (f: FaultRow) => number): number => of.reduce((n, f) => n + pick(f), 0);
      return [
        methodName(r), resume ? 'on' : 'off',
        formatMs(l.p50), formatMs(l.p95), formatMs(l.p99), formatMs(l.max),
        `${sum((f) => f.messages.lost)}/${sum((f) => f.messages.expected)}`, String(sum((f) => f.messages.late)), String(sum((f) => f.messages.duplicated)), String(sum((f) => f.messages.outOfOrder)),
      ];
    }),
  };
}

export function faultsSection(results: readonly TransportResult[]): TableSection[] {
  const rows = results.flatMap((r) => (detailsOf(r, 'faults')?.faults ?? []).map((f) => ({ r, f })));
  if (rows.length === 0) return [];
  const skipped = results.flatMap((r) => (detailsOf(r, 'faults')?.skipped ?? []).map((why) => `${transportLabel(r.transport)}: ${why}.`));
  return [
    {
      title: 'Faults (Recovery: from the fault (a bus outage: from its end) until every subscriber was connected again, on a new connection where the fault cut it; - when none was needed or it did not happen in the window)',
      headers: ['Method', 'Resume', 'Fault', 'Recovery (ms)', 'Disconnects', 'Reconnects', 'Failed attempts', 'Lost', 'Late', 'Dup', 'Out of order', 'Gap signals', 'Publish errors'],
      rows: rows.map(({ r, f }) => [
        transportLabel(r.transport),
        f.resume ? 'on' : 'off',
        f.fault,
        f.recoveryMs === null ? '-' : String(f.recoveryMs),
        String(f.disconnects), String(f.reconnects), String(f.failedReconnects),
        `${f.messages.lost}/${f.messages.expected}`, String(f.messages.late), String(f.messages.duplicated), String(f.messages.outOfOrder),
        String(f.gaps), String(f.publishErrors),
      ]),
      ...(skipped.length > 0 ? { lines: skipped } : {}),
    },
  ];
}
