import { accessSync, constants } from 'node:fs';
import { findChromium } from '../clients/browser/chromium.js';
import { encodeHistogram, latencyStats, newHistogram } from '../core/histogram.js';
import { usageError } from '../core/errors.js';
import type { BrowserSubscribers } from '../core/details.js';
import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { transportLabel } from '../core/transports.js';
import { formatMiB, formatMs } from '../output/format.js';
import { type OptionSpec, integer } from '../run/options.js';
import type { Round } from './pool-run.js';

/** `--browsers`, `--per-page`, `--chromium`: what a scenario with Chromium subscribers asks for. */
export interface BrowserConfig {
  readonly browsers: number;
  readonly perPage: number;
  /** Null when no browsers were asked for. */
  readonly chromiumPath: string | null;
}

export const BROWSER_OPTIONS: readonly OptionSpec[] = [
  { flags: '--browsers <count>', description: 'subscribers that are headless Chromium pages, beside the Node ones (same room, same schedule)', parse: integer(0, 1000), defaultValue: 0 },
  { flags: '--per-page <count>', description: 'browser subscribers sharing one page (one connection pool: six HTTP/1.1 connections per origin)', parse: integer(1, 100), defaultValue: 1 },
  { flags: '--chromium <path>', description: "the Chromium to drive (playwright-core; nothing is downloaded)", parse: (value: string) => value, defaultValue: '', defaultLabel: 'chromium on PATH' },
];

/** The options as a config; a Chromium that cannot be found or run is a usage error, said before anything starts. */
export function browserConfigFrom(options: Record<string, unknown>): BrowserConfig {
  const browsers = (options.browsers as number | undefined) ?? 0;
  const perPage = (options.perPage as number | undefined) ?? 1;
  const given = (options.chromium as string | undefined) ?? '';
  if (browsers === 0) return { browsers, perPage, chromiumPath: null };
  const chromiumPath = given || findChromium();
  if (!chromiumPath) throw usageError('--chromium', '', 'the path of a Chromium: none was found on PATH (install it, e.g. apt-get install -y chromium)');
  try {
    accessSync(chromiumPath, constants.X_OK);
  } catch {
    throw usageError('--chromium', chromiumPath, 'the path of an executable Chromium');
  }
  return { browsers, perPage, chromiumPath };
}

/** How a transport's subscriptions are named in a sentence about them. */
const STREAMS: Readonly<Record<string, string>> = { sse: 'SSE streams', 'long-polling': 'long polls', ws: 'WebSockets', stomp: 'STOMP sessions' };

/** What the browser held back, in words; empty when every subscription opened. */
export function waitingNote(transport: string, opened: number, asked: number, pages: number, perPage: number, http2: boolean): string {
  if (opened >= asked) return '';
  const where = pages === 1 ? 'in one page' : `in ${pages} pages of ${perPage}`;
  const limited = (transport === 'sse' || transport === 'long-polling') && !http2;
  return `${opened} of ${asked} ${STREAMS[transport] ?? 'subscriptions'} opened ${where}; the rest waited: ${limited ? 'HTTP/1.1 connection limit per origin' : 'held back by the browser'}`;
}

/** The browser subscribers' part of a round, for the burst's details. */
export function browserSubscribers(
  config: BrowserConfig,
  transport: string,
  http2: boolean,
  connect: { readonly ok: number; readonly failed: Readonly<Record<string, number>> },
  round: Round | null,
): BrowserSubscribers {
  const replies = round?.browser?.replies ?? [];
  const status = replies.map((r) => r.browser).filter((b) => b !== undefined);
  const merged = round?.browser?.merged;
  const waiting = connect.failed.BROWSER_WAITING ?? 0;
  const failed = Object.fromEntries(Object.entries(connect.failed).filter(([code]) => code !== 'BROWSER_WAITING'));
  const pages = Math.ceil(config.browsers / config.perPage);
  return {
    client: 'chromium',
    subscribers: config.browsers,
    perPage: config.perPage,
    pages,
    opened: connect.ok,
    waiting,
    failed,
    messages: merged?.messages ?? { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
    latencyUs: latencyStats(merged?.perMessage ?? newHistogram()),
    histogram: merged ? encodeHistogram(merged.perMessage) : '',
    crashedPages: status.reduce((n, s) => n + s.crashedPages, 0),
    clockUncertaintyUs: status.reduce((max, s) => Math.max(max, s.clockUncertaintyUs), 0),
    timerResolutionUs: status.reduce((max, s) => Math.max(max, s.timerResolutionUs), 0),
    cpuMs: status.reduce((n, s) => n + s.cpuMs, 0),
    memoryBytes: status.reduce((n, s) => n + s.memoryBytes, 0),
    note: waitingNote(transport, connect.ok, config.browsers, pages, config.perPage, http2),
  };
}

/** A row per transport with Chromium subscribers, beside the same run's Node figures, and what waited. */
export function browserSection(results: readonly TransportResult[]): TableSection[] {
  const rows: string[][] = [];
  const lines: string[] = [];
  for (const result of results) {
    const browsers = result.details?.scenario === 'burst' ? result.details.browsers : undefined;
    if (!browsers) continue;
    const node = result.latencyUs.perMessage;
    const b = browsers.latencyUs;
    const minus = (a: number | null, z: number | null): string => (a === null || z === null ? '-' : `${a >= z ? '+' : '-'}${formatMs(Math.abs(a - z))}`);
    rows.push([
      `${transportLabel(result.transport)}, Chromium`,
      `${browsers.opened}/${browsers.subscribers}`,
      formatMs(b.p50), formatMs(b.p95), formatMs(b.p99), formatMs(b.max),
      `${browsers.messages.lost}/${browsers.messages.expected}`,
      String(browsers.messages.duplicated),
      String(browsers.messages.outOfOrder),
      minus(b.p50, node.p50), minus(b.p99, node.p99),
      `${formatMs(browsers.clockUncertaintyUs)} / ${formatMs(browsers.timerResolutionUs)}`,
      (browsers.cpuMs / 1000).toFixed(2),
      formatMiB(browsers.memoryBytes),
    ]);
    if (browsers.note) lines.push(`${transportLabel(result.transport)}: ${browsers.note}.`);
    if (browsers.crashedPages > 0) lines.push(`${transportLabel(result.transport)}: ${browsers.crashedPages} Chromium page(s) crashed; what their subscribers did not receive is counted lost.`);
    for (const [code, n] of Object.entries(browsers.failed)) lines.push(`${transportLabel(result.transport)}: ${n} Chromium subscriber(s) failed to open (${code}).`);
  }
  if (rows.length === 0) return [];
  return [
    {
      title: "Chromium subscribers: scheduled send -> the page's stamp (ms), beside the Node subscribers of the same run",
      headers: ['Method', 'Opened', 'P50', 'P95', 'P99', 'Max (ms)', 'Lost', 'Dup', 'Out of order', 'Browser - Node P50', 'P99', 'Clock ± / step (ms)', 'Chromium CPU (s)', 'Memory, PSS (MiB)'],
      rows,
      lines: [
        "A page stamps each arrival with performance.timeOrigin + performance.now() when its handler runs, put on rtbench's monotonic clock by the probe with the shortest round trip (Clock ±: half that trip; step: the smallest tick of the page's clock).",
        ...lines,
      ],
    },
  ];
}
