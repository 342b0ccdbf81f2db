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
    rows: modes.flatMap(({ r, resume, of }) => {
      const row = (label: string, windows: ReadonlyArray<Pick<FaultRow, 'messages'> & { readonly histogram?: string }>): string[] => {
        const l = latencyStats(mergeEncoded(windows.map((f) => f.histogram as string)));
        const sum = (pick: (f: Pick<FaultRow, 'messages'>) => number): number => windows.reduce((n, f) => n + pick(f), 0);
        return [
          label, resume ? 'on' : 'off',
          formatMs(l.p50), formatMs(l.p95), formatMs(l.p99), formatMs(l.max),
          `${sum((f) => f.messages.lost)}/${sum((f) => f.messages.expected)}`, String(sum((f) => f.messages.late)), String(sum((f) => f.messages.duplicated)), String(sum((f) => f.messages.outOfOrder)),
        ];
      };
      const browsers = of.flatMap((f) => (f.browsers ? [f.browsers] : []));
      return [row(methodName(r), of), ...(browsers.length > 0 ? [row(`${transportLabel(r.transport)}, Chromium`, browsers)] : [])];
    }),
  };
}

/** What the Chromium rows' clients do on their own after a cut. */
const BROWSER_LINE =
  "Chromium rows: the browser's own clients, counted apart. EventSource reconnects by itself, after the server's retry: or its own default, and sends Last-Event-ID whatever the resume mode; the page's WebSocket and fetch loop reconnect with rtbench's backoff, stompjs after 1 s.";

export function faultsSection(results: readonly TransportResult[]): TableSection[] {
  const rows = results.flatMap((r) => (detailsOf(r, 'faults')?.faults ?? []).map((f) => ({ r, f })));
  if (rows.length === 0) return [];
  const skipped = results.flatMap((r) => (detailsOf(r, 'faults')?.skipped ?? []).map((why) => `${transportLabel(r.transport)}: ${why}.`));
  return [
    {
      title: 'Faults (Recovery: from the fault (a bus outage: from its end) until every subscriber was connected again, on a new connection where the fault cut it; - when none was needed or it did not happen in the window)',
      headers: ['Method', 'Resume', 'Fault', 'Recovery (ms)', 'Disconnects', 'Reconnects', 'Failed attempts', 'Lost', 'Late', 'Dup', 'Out of order', 'Gap signals', 'Publish errors'],
      rows: rows.flatMap(({ r, f }) => [
        [
          transportLabel(r.transport),
          f.resume ? 'on' : 'off',
          f.fault,
          f.recoveryMs === null ? '-' : String(f.recoveryMs),
          String(f.disconnects), String(f.reconnects), String(f.failedReconnects),
          `${f.messages.lost}/${f.messages.expected}`, String(f.messages.late), String(f.messages.duplicated), String(f.messages.outOfOrder),
          String(f.gaps), String(f.publishErrors),
        ],
        ...(f.browsers
          ? [[
              `${transportLabel(r.transport)}, Chromium`,
              f.resume ? 'on' : 'off',
              f.fault,
              f.browsers.recoveryMs === null ? '-' : String(f.browsers.recoveryMs),
              String(f.browsers.disconnects), String(f.browsers.reconnects), String(f.browsers.failedReconnects),
              `${f.browsers.messages.lost}/${f.browsers.messages.expected}`, String(f.browsers.messages.late), String(f.browsers.messages.duplicated), String(f.browsers.messages.outOfOrder),
              '-', '-',
            ]]
          : []),
      ]),
      ...(skipped.length > 0 || rows.some(({ f }) => f.browsers) ? { lines: [...skipped, ...(rows.some(({ f }) => f.browsers) ? [BROWSER_LINE] : [])] } : {}),
    },
  ];
}
