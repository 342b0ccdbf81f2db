import { accessSync, constants } from 'node:fs';
import { findChromium } from '../clients/browser/chromium.js';
import { type LatencyStats, encodeHistogram, latencyStats, mergeEncoded, newHistogram } from '../core/histogram.js';
import type { BrowserStatus } from '../clients/browser/page-client.js';
import { RtbError, usageError } from '../core/errors.js';
import type { BrowserRound, BrowserSubscribers } from '../core/details.js';
import { addCounts, addErrors, emptyCounts } from '../load/aggregate.js';
import type { SubscriberPool } from '../load/worker/pool.js';
import type { ScenarioContext } from '../run/scenario.js';
import { subscriberSpecs } from './pool-run.js';
import type { TableSection } from '../core/sections.js';
import type { TransportResult } from '../core/result.js';
import { transportLabel } from '../core/transports.js';
import { formatMiB, formatMs, formatMsDifference } from '../output/format.js';
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

/**
 * Opens the Chromium subscribers `from`..`from + browsers - 1`, dealt to rooms round-robin. One a page
 * could not open at all (a profile it cannot follow, a page that failed) refuses the run; those that
 * waited on the browser are said in words and left out.
 */
export async function openBrowsers(context: ScenarioContext, pool: SubscriberPool, config: BrowserConfig, from: number, rooms: number): Promise<Awaited<ReturnType<SubscriberPool['connect']>>> {
  context.log(`opening ${config.browsers} Chromium subscriber${config.browsers === 1 ? '' : 's'}, ${config.perPage} to a page`);
  const connect = await pool.connect(subscriberSpecs(from, from + config.browsers, rooms), 100, 'browser');
  const failed = Object.entries(connect.failed).filter(([code]) => code !== 'BROWSER_WAITING');
  if (failed.length > 0) {
    throw new RtbError('RTB_ERR_NOT_READY', `${failed.reduce((n, [, count]) => n + count, 0)} of ${config.browsers} Chromium ${context.transport} subscribers could not open (${failed.map(([code, n]) => `${code} x${n}`).join(', ')})`);
  }
  const note = waitingNote(context.transport, connect.ok, config.browsers, Math.ceil(config.browsers / config.perPage), config.perPage, context.target.context.http2 === true);
  if (note) context.log(note);
  return connect;
}

/** The browser threads' part of one round; undefined without browser threads. */
export function browserRound(round: Round, held: number): BrowserRound | undefined {
  if (!round.browser) return undefined;
  const status = round.browser.replies.map((r) => r.browser).filter((b) => b !== undefined);
  return {
    ...versionOf(status),
    held,
    messages: round.browser.merged.messages,
    latencyUs: latencyStats(round.browser.merged.perMessage),
    histogram: encodeHistogram(round.browser.merged.perMessage),
    crashedPages: status.reduce((n, s) => n + s.crashedPages, 0),
    cpuMs: status.reduce((n, s) => n + s.cpuMs, 0),
    memoryBytes: status.reduce((n, s) => n + s.memoryBytes, 0),
    ...pollGaps(status),
    ...errorsOf(status.map((s) => s.errors)),
  };
}

/** The Chromium the pages ran in; nothing when none had started. */
function versionOf(status: ReadonlyArray<{ readonly version?: string | null }>): { version?: string } {
  const version = status.find((s) => s.version)?.version;
  return version ? { version } : {};
}

/** Error counts summed by code; nothing when there are none. */
function errorsOf(parts: ReadonlyArray<Readonly<Record<string, number>> | undefined>): { errors?: Record<string, number> } {
  const errors: Record<string, number> = {};
  for (const part of parts) if (part) addErrors(errors, part);
  return Object.keys(errors).length > 0 ? { errors } : {};
}

/** The poll gaps of the browser thread that long-polled most (there is one browser thread per process). */
function pollGaps(status: readonly BrowserStatus[]): { pollGapUs?: LatencyStats } {
  const most = status.reduce<LatencyStats | null>((best, s) => (s.pollGapUs && s.pollGapUs.count > (best?.count ?? 0) ? s.pollGapUs : best), null);
  return most ? { pollGapUs: most } : {};
}

/** How the pages made their long polls; nothing when there were none. */
function pollCounts(status: readonly BrowserStatus[]): { polls?: { own: number; asked: number } } {
  const own = status.reduce((n, s) => n + s.polls.own, 0);
  const asked = status.reduce((n, s) => n + s.polls.asked, 0);
  return own + asked > 0 ? { polls: { own, asked } } : {};
}

/** The browser options a pool is started with; undefined without `--browsers`. */
export function browserThread(config: BrowserConfig): { chromiumPath: string; perPage: number } | undefined {
  return config.chromiumPath && config.browsers > 0 ? { chromiumPath: config.chromiumPath, perPage: config.perPage } : undefined;
}

/** The browser subscribers' part of a round, for the burst's details. */
export function browserSubscribers(
  config: BrowserConfig,
  transport: string,
  http2: boolean,
  connect: { readonly ok: number; readonly failed: Readonly<Record<string, number>> },
  round: Round | null,
): BrowserSubscribers {
  const part = round ? browserRound(round, connect.ok) : undefined;
  const status = (round?.browser?.replies ?? []).map((r) => r.browser).filter((b) => b !== undefined);
  const waiting = connect.failed.BROWSER_WAITING ?? 0;
  const failed = Object.fromEntries(Object.entries(connect.failed).filter(([code]) => code !== 'BROWSER_WAITING'));
  const pages = Math.ceil(config.browsers / config.perPage);
  return {
    client: 'chromium',
    ...versionOf(status),
    subscribers: config.browsers,
    perPage: config.perPage,
    pages,
    opened: connect.ok,
    waiting,
    failed,
    messages: part?.messages ?? emptyCounts(),
    latencyUs: part?.latencyUs ?? latencyStats(newHistogram()),
    histogram: part?.histogram ?? '',
    crashedPages: part?.crashedPages ?? 0,
    clockUncertaintyUs: status.reduce((max, s) => Math.max(max, s.clockUncertaintyUs), 0),
    timerResolutionUs: status.reduce((max, s) => Math.max(max, s.timerResolutionUs), 0),
    cpuMs: part?.cpuMs ?? 0,
    memoryBytes: part?.memoryBytes ?? 0,
    ...(part?.pollGapUs ? { pollGapUs: part.pollGapUs } : {}),
    ...pollCounts(status),
    ...(part?.errors ? { errors: part.errors } : {}),
    note: waitingNote(transport, connect.ok, config.browsers, pages, config.perPage, http2),
  };
}

/** A row per transport with Chromium subscribers, beside the same run's Node figures, and what waited. */
export function browserSection(results: readonly TransportResult[]): TableSection[] {
  const rows: string[][] = [];
  const lines: string[] = [];
  const versions = new Set<string>();
  for (const result of results) {
    const browsers = result.details?.scenario === 'burst' ? result.details.browsers : undefined;
    if (!browsers) continue;
    if (browsers.version) versions.add(browsers.version);
    const node = result.latencyUs.perMessage;
    const b = browsers.latencyUs;
    rows.push([
      `${transportLabel(result.transport)}, Chromium`,
      `${browsers.opened}/${browsers.subscribers}`,
      formatMs(b.p50), formatMs(b.p95), formatMs(b.p99), formatMs(b.max),
      `${browsers.messages.lost}/${browsers.messages.expected}`,
      String(browsers.messages.duplicated),
      String(browsers.messages.outOfOrder),
      formatMsDifference(b.p50, node.p50), formatMsDifference(b.p99, node.p99),
      `${formatMs(browsers.clockUncertaintyUs)} / ${formatMs(browsers.timerResolutionUs)}`,
      (browsers.cpuMs / 1000).toFixed(2),
      formatMiB(browsers.memoryBytes),
    ]);
    if (browsers.note) lines.push(`${transportLabel(result.transport)}: ${browsers.note}.`);
    const gaps = browsers.pollGapUs;
    if (gaps && gaps.count > 0) lines.push(`${transportLabel(result.transport)}: ${pollLine(gaps, browsers.polls)}`);
    if (browsers.errors) lines.push(`${transportLabel(result.transport)}: the Chromium subscribers met ${errorList(browsers.errors)}.`);
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
        ...versionLines(versions),
        ...lines,
      ],
    },
  ];
}

/** Which Chromium ran the pages: its CPU and latency figures move with the build, so a comparison names it. */
function versionLines(versions: ReadonlySet<string>): string[] {
  return versions.size > 0 ? [`Chromium ${[...versions].join(', ')}.`] : [];
}

/** `CODE xN, ...`, largest first. */
function errorList(errors: Readonly<Record<string, number>>): string {
  return Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} x${n}`)
    .join(', ');
}

/** How the pages made their next polls, in words. */
function pollsMade(polls: { readonly own: number; readonly asked: number } | undefined): string {
  const rule = "built by the page itself from the answer (the profile's rule, as a chat page's script does)";
  if (!polls) return 'the page asked rtbench for each next poll';
  if (polls.own === 0) return 'the page asked rtbench for each next poll over a loopback WebSocket (the profile has no rule a page can follow)';
  if (polls.asked === 0) return `all ${polls.own} polls were ${rule}`;
  return `${polls.own} of ${polls.own + polls.asked} polls were ${rule}; the other ${polls.asked} it asked rtbench for over a loopback WebSocket`;
}

/** What a page did between two long polls, in words. */
function pollLine(gaps: LatencyStats, polls: { readonly own: number; readonly asked: number } | undefined): string {
  return `${pollsMade(polls)}. From an answer in the page to its next request took p50 ${formatMs(gaps.p50)} ms, p99 ${formatMs(gaps.p99)} ms over ${gaps.count} polls; a message that comes while no poll is out waits for it.`;
}

/** The Chromium subscribers of each ramp step and of a whole soak, beside the Node figures of the same round. */
export function browserStepsSection(results: readonly TransportResult[]): TableSection[] {
  const rows: string[][] = [];
  const lines: string[] = [];
  const versions = new Set<string>();
  for (const result of results) {
    const details = result.details;
    const label = `${transportLabel(result.transport)}, Chromium`;
    const row = (when: string, nodeHeld: number, node: { p50: number | null; p99: number | null }, b: BrowserRound): string[] => [
      label, when, String(nodeHeld), String(b.held),
      formatMs(b.latencyUs.p50), formatMs(b.latencyUs.p99),
      `${b.messages.lost}/${b.messages.expected}`,
      formatMsDifference(b.latencyUs.p50, node.p50), formatMsDifference(b.latencyUs.p99, node.p99),
      (b.cpuMs / 1000).toFixed(2), formatMiB(b.memoryBytes),
    ];
    const said = (when: string, b: BrowserRound): void => {
      if (b.version) versions.add(b.version);
      if (b.errors) lines.push(`${label}, ${when}: the Chromium subscribers met ${errorList(b.errors)}.`);
    };
    if (details?.scenario === 'ramp') {
      for (const step of details.steps) {
        if (!step.browsers) continue;
        rows.push(row(`step ${step.step}`, step.connectionsHeld, step.latencyUs.perMessage, step.browsers));
        said(`step ${step.step}`, step.browsers);
      }
    }
    if (details?.scenario === 'soak' && details.browsers) {
      rows.push(row('whole soak', result.connections.subscribers, result.latencyUs.perMessage, details.browsers));
      said('whole soak', details.browsers);
    }
  }
  if (rows.length === 0) return [];
  return [
    {
      title: "Chromium subscribers beside the Node ones: scheduled send -> the page's stamp (ms)",
      headers: ['Method', 'Round', 'Node held', 'Chromium held', 'P50', 'P99', 'Lost', 'Browser - Node P50', 'P99', 'Chromium CPU (s)', 'Memory, PSS (MiB)'],
      rows,
      ...(lines.length + versions.size > 0 ? { lines: [...versionLines(versions), ...lines] } : {}),
    },
  ];
}


/** A soak's Chromium subscribers so far, with one more round added: counts summed, latencies merged, memory as after the first and the last round. */
export function addBrowserRound(total: (BrowserRound & { readonly memoryFirstBytes: number }) | undefined, round: BrowserRound): BrowserRound & { readonly memoryFirstBytes: number } {
  if (!total) return { ...round, memoryFirstBytes: round.memoryBytes };
  const merged = mergeEncoded([total.histogram, round.histogram]);
  const messages = { ...total.messages };
  addCounts(messages, round.messages);
  return {
    ...versionOf([round, total]),
    held: round.held,
    messages,
    latencyUs: latencyStats(merged),
    histogram: encodeHistogram(merged),
    crashedPages: Math.max(total.crashedPages, round.crashedPages),
    cpuMs: total.cpuMs + round.cpuMs,
    memoryBytes: round.memoryBytes,
    memoryFirstBytes: total.memoryFirstBytes,
    ...errorsOf([total.errors, round.errors]),
    // The last round's: gaps are a property of the machine's load, not a count to add up.
    ...(round.pollGapUs ? { pollGapUs: round.pollGapUs } : total.pollGapUs ? { pollGapUs: total.pollGapUs } : {}),
  };
}
