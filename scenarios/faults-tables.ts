import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { transportLabel } from '../core/transports.js';
import { detailsOf } from '../core/details.js';
export type { FaultRow } from '../core/details.js';


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
