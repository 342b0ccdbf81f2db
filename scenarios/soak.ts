import { formatDurationMs } from '../core/duration.js';
import { usageError } from '../core/errors.js';
import { encodeHistogram, latencyStats } from '../core/histogram.js';
import { duration, integer } from '../run/options.js';
import { preflight } from '../run/preflight.js';
import { addCounts, addErrors, aggregateResult, emptyCounts, errorsSince, foldEncoded } from '../load/aggregate.js';
import type { ConnectionStatus } from '../load/worker/protocol.js';
import type { SubscriberPool } from '../load/worker/pool.js';
import type { SampleRow } from '../core/result.js';
import { usageOfRows } from '../run/sampler.js';
import { sleep } from '../core/sleep.js';
import { SentCounter } from '../load/sent-counter.js';
import { compacting, heapAfterGc } from '../core/heap.js';
import { settledRssBytes } from '../core/settled-rss.js';
import { type Round, loadRequest, measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { withCommonSections } from './tables.js';
import { BROWSER_OPTIONS, type BrowserConfig, addBrowserRound, browserConfigFrom, browserRound, browserStepsSection, browserThread, openBrowsers } from './browser-subscribers.js';
import type { SoakDetails } from '../core/details.js';
import { stepPlan } from './ramp-step.js';
import { type SoakInterval, heapTrend, outsideHeapTrend, rssTrends, soakFiles, soakSection } from './soak-tables.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import { SLOPE_MIN_S, isSlopeMetric } from '../analysis/metrics.js';
import type { Threshold } from '../analysis/thresholds.js';

export interface SoakConfig extends BrowserConfig {
  readonly connections: number;
  readonly durationMs: number;
  readonly intervalMs: number;
  readonly rooms: number;
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly payloadBytes: number;
  readonly deadlineMs: number;
  /** Times (since measuring started) at which every subscriber connection is cut through the proxy. */
  readonly cutAtMs: readonly number[];
  /** After each cut, the proxy refuses new connections this long (the link stays down). */
  readonly outageMs: number;
  readonly reconnectMaxMs: number | undefined;
}

/** A round must finish before the next interval starts; leave it this much room. */
const ROUND_MARGIN_MS = 300;
/** A progress line without a terminal, at most this often. */
const LOG_EVERY_MS = 10_000;

/**
 * Time from one checkpoint to the next, after `elapsedMs` of measuring: 10 s, or a 60th of the run so
 * far once that is longer. A checkpoint rewrites every row so far (summary.json, samples.csv), so its
 * cost grows with the run; spacing checkpoints in proportion keeps the generator's CPU share for them
 * constant over a week's soak, and a crash still keeps all but the last 60th of the run.
 */
export function checkpointGapMs(elapsedMs: number): number {
  return Math.max(10_000, elapsedMs / 60);
}

function parseCutTimes(text: string): number[] {
  const parse = duration(0, 24 * 3_600_000);
  return text.split(',').map((part) => parse(part.trim()));
}

/** `--cut-at` times plus one every `--cut-every` within the duration, in order. */
function cutTimes(at: readonly number[], everyMs: number | undefined, durationMs: number): number[] {
  const times = [...at];
  if (everyMs !== undefined) for (let t = everyMs; t < durationMs; t += everyMs) times.push(t);
  return times.sort((a, b) => a - b);
}

/** Errors whose code names a timeout (connect, headers, body, publish). */
function timeoutsIn(errors: Readonly<Record<string, number>>): number {
  return Object.entries(errors).filter(([code]) => /TIMEOUT/i.test(code)).reduce((n, [, v]) => n + v, 0);
}

/** The proxy cuts (and outages) asked for, at their times from the start of measuring, each logged as it happens. */
function scheduleCuts(context: ScenarioContext, config: SoakConfig, startedMs: number, faultLog: Array<{ atMs: number; what: string }>, timers: NodeJS.Timeout[]): void {
  for (const cutAtMs of config.cutAtMs) {
    timers.push(
      setTimeout(() => {
        const what = config.outageMs > 0 ? `cut + ${formatDurationMs(config.outageMs)} outage` : 'cut';
        faultLog.push({ atMs: Date.now() - startedMs, what });
        if (config.outageMs > 0) context.proxy?.refuse(true);
        context.proxy?.cut();
        if (config.outageMs > 0) timers.push(setTimeout(() => context.proxy?.refuse(false), config.outageMs));
      }, cutAtMs),
    );
  }
}

/** One interval's row: its round, what the connections did since the last, the resources of its seconds, the generator's memory after a GC. */
function intervalRow(
  k: number,
  startedMs: number,
  status: { readonly before: ConnectionStatus; readonly now: ConnectionStatus },
  round: Round,
  roundErrors: Readonly<Record<string, number>>,
  rows: readonly SampleRow[],
  memory: { readonly mainHeap: ReturnType<typeof heapAfterGc>; readonly workersHeap: Awaited<ReturnType<SubscriberPool['heapAfterGc']>>; readonly generatorRssAfterGcBytes: number },
  faults: string[],
): SoakInterval {
  const { before, now } = status;
  const server = usageOfRows(rows, 'server');
  const generator = usageOfRows(rows, 'generator');
  const last = rows.at(-1);
  return {
    interval: k + 1,
    elapsedS: Math.round((Date.now() - startedMs) / 100) / 10,
    connectionsAlive: now.connected,
    disconnects: now.disconnects - before.disconnects,
    reconnects: now.reconnects - before.reconnects,
    failedReconnects: now.failedAttempts - before.failedAttempts,
    timeouts: timeoutsIn(roundErrors),
    gaps: now.gaps - before.gaps,
    messages: round.merged.messages,
    latencyUs: latencyStats(round.merged.perMessage),
    serverCpuPct: server.cpuPctAvg,
    serverRssBytes: last?.serverRssBytes ?? null,
    generatorCpuPct: generator.cpuPctAvg,
    generatorRssBytes: last?.generatorRssBytes ?? null,
    generatorHeapAfterGcBytes: memory.mainHeap.usedBytes + memory.workersHeap.usedBytes,
    generatorHeapResidentBytes: memory.mainHeap.residentBytes + memory.workersHeap.localResidentBytes,
    generatorRssAfterGcBytes: memory.generatorRssAfterGcBytes,
    faults,
  };
}

async function run(context: ScenarioContext, config: SoakConfig): Promise<void> {
  const provisioned = await context.target.provision({ rooms: config.rooms, subscriberRooms: roomsOf(config.connections + config.browsers, config.rooms), tag: '' });
  const pool = startPool(context, config.workers, provisioned, context.target, browserThread(config));
  /** Chromium subscribers per room (`--browsers`), and what they received over every round so far. */
  const browsersPerRoom = new Map<number, number>();
  let browsersHeld = 0;
  let browsers: SoakDetails['browsers'];
  const faulty = config.cutAtMs.length > 0;
  // Through a subscriber-side fault the publisher must keep publishing, so it talks to the server directly.
  const publisher = (faulty ? context.target.direct() : context.target).publisher(provisioned);
  const roundDeadlineMs = Math.max(1, Math.min(config.deadlineMs, config.intervalMs - ROUND_MARGIN_MS));
  const intervals: SoakInterval[] = [];
  // Each kind's histogram of all rounds so far, as one encoded histogram: a round folds its own in, so
  // a checkpoint at hour 2 decodes three histograms, not three per round (see foldEncoded).
  const histograms: string[] = [];
  const publishHistograms: Record<'publishRtt' | 'sendLag', string[]> = { publishRtt: [], sendLag: [] };
  const totals = emptyCounts();
  const errors: Record<string, number> = {};
  const heldPerRoom = new Map<number, number>();
  const faultLog: Array<{ atMs: number; what: string }> = [];
  let measuringSinceMs: number | null = null;
  const sent = new SentCounter();
  let status: ConnectionStatus = { held: 0, connected: 0, disconnects: 0, reconnects: 0, failedAttempts: 0, gaps: 0, sends: 0, lastOpenedUs: 0, errors: {} };
  /** Publish and connect errors, plus every subscriber error so far (cumulative, from the connection status). */
  const allErrors = (): Record<string, number> => {
    const all = { ...errors };
    addErrors(all, status.errors, 'subscriber:');
    return all;
  };
  let interrupted = false;

  context.observe({
    subscribers: config.connections,
    generatorThreads: config.workers + 1,
    ownDelay: () => pool.ownDelay,
    live: () => ({ connections: pool.live().connected, sent: sent.total, received: pool.live().arrivals, measuring: measuringSinceMs !== null }),
    measured: () => ({ result: aggregateResult(totals, { perMessage: histograms, ...publishHistograms }, allErrors()), reconnects: status.reconnects, gaps: status.gaps, sends: status.sends }),
    details: () => ({
      scenario: 'soak',
      intervals,
      injected: faultLog,
      interrupted: interrupted || context.signal.aborted,
      measuredS: measuringSinceMs === null ? 0 : Math.round((Date.now() - measuringSinceMs) / 1000),
      plannedS: config.durationMs / 1000,
      totals: { disconnects: status.disconnects, reconnects: status.reconnects, failedReconnects: status.failedAttempts, timeouts: timeoutsIn(allErrors()) },
      ...rssTrends(context.samples(), config.intervalMs / 1000),
      generatorHeap: heapTrend(intervals),
      generatorRssOutsideHeap: outsideHeapTrend(intervals),
      ...(browsers ? { browsers } : {}),
    }),
  });

  const timers: NodeJS.Timeout[] = [];
  try {
    context.log(`connecting ${config.connections} subscribers in ${config.rooms} room(s) over ${config.workers} workers`);
    const specs = subscriberSpecs(0, config.connections, config.rooms);
    const connect = await pool.connect(specs, config.connectConcurrency);
    for (const [room, n] of Object.entries(connect.okByRoom)) heldPerRoom.set(Number(room), n);
    addErrors(errors, connect.failed, 'connect:');
    if (connect.ok < config.connections) context.log(`${config.connections - connect.ok} subscribers could not connect: ${JSON.stringify(connect.failed)}`);
    if (config.browsers > 0) {
      const opened = await openBrowsers(context, pool, config, config.connections, config.rooms);
      browsersHeld = opened.ok;
      for (const [room, n] of Object.entries(opened.okByRoom)) browsersPerRoom.set(Number(room), n);
    }
    await warmUp(context, pool, publisher, { rooms: config.rooms, payloadBytes: config.payloadBytes, expected: connect.ok + browsersHeld });

    measuringSinceMs = Date.now();
    const startedMs = measuringSinceMs;
    scheduleCuts(context, config, startedMs, faultLog, timers);
    const count = Math.max(1, Math.floor(config.durationMs / config.intervalMs));
    context.log(`soaking for ${formatDurationMs(config.durationMs)}: ${count} intervals of ${formatDurationMs(config.intervalMs)}, one message per room each`);
    let lastCheckpointMs = Date.now();
    let lastLogMs = Date.now();
    /** Faults are reported in the first row after they happened. */
    let faultsReported = 0;
    for (let k = 0; k < count && !context.signal.aborted; k++) {
      // Intervals start on a fixed grid, so a slow round never shifts the schedule of the next ones.
      await sleep(Math.max(0, startedMs + k * config.intervalMs - Date.now()), context.signal);
      if (context.signal.aborted) break;
      const plan = stepPlan(1, 1, config.rooms);
      const round = await measureRound(context, pool, publisher, {
        plan,
        deadlineMs: roundDeadlineMs,
        payloadBytes: config.payloadBytes,
        audience: (room) => heldPerRoom.get(room) ?? 0,
        browserAudience: (room) => browsersPerRoom.get(room) ?? 0,
        onStart: (recorder) => sent.follow(recorder),
      });
      const browserPart = browserRound(round, browsersHeld);
      if (browserPart) browsers = addBrowserRound(browsers, browserPart);
      const before = status;
      const now = await pool.status('node');
      // Between rounds nothing is in flight: a full GC here delays no measured message.
      const { mainHeap, workersHeap } = await compacting(async () => ({ mainHeap: heapAfterGc(), workersHeap: await pool.heapAfterGc() }));
      // RSS once V8 has handed back the pages the compaction left (core/settled-rss.ts), waiting at
      // most until the next interval is due less the margin: the wait never shifts the schedule.
      const nextDueMs = startedMs + (k + 1) * config.intervalMs;
      const afterGc = await settledRssBytes({ maxWaitMs: Math.min(2000, nextDueMs - ROUND_MARGIN_MS - Date.now()), signal: context.signal });
      const generatorRssAfterGcBytes = afterGc.rssBytes;
      status = now;
      await context.sampleNow();
      const rows = context.samples().recent(Math.max(1, Math.round(config.intervalMs / 1000))).filter((r) => r.measuring && r.elapsedS > 0);
      const roundErrors = { ...round.merged.errors, ...round.publish.errors, ...errorsSince(now.errors, before.errors, 'subscriber:') };
      addErrors(errors, { ...round.merged.errors, ...round.publish.errors });
      addCounts(totals, round.merged.messages);
      foldEncoded(histograms, encodeHistogram(round.merged.perMessage));
      foldEncoded(publishHistograms.publishRtt, round.publish.histograms.publishRtt);
      foldEncoded(publishHistograms.sendLag, round.publish.histograms.sendLag);
      const row = intervalRow(k, startedMs, { before, now }, round, roundErrors, rows, { mainHeap, workersHeap, generatorRssAfterGcBytes }, faultLog.slice(faultsReported).map((f) => f.what));
      faultsReported = faultLog.length;
      intervals.push(row);
      const elapsedMs = Date.now() - startedMs;
      const line = `${formatClock(elapsedMs)} / ${formatClock(config.durationMs)} (ETA ${formatClock(Math.max(0, config.durationMs - elapsedMs))}): alive ${row.connectionsAlive}/${connect.ok}, lost ${totals.lost}/${totals.expected}, dup ${totals.duplicated}, reconnects ${now.reconnects}, p99 ${((row.latencyUs.p99 ?? 0) / 1000).toFixed(1)} ms`;
      context.progress(`${context.transport} soak ${line}`);
      const nowMs = Date.now();
      if (k === 0 || nowMs - lastCheckpointMs >= checkpointGapMs(nowMs - startedMs) || k === count - 1) {
        await context.checkpoint();
        lastCheckpointMs = Date.now();
      }
      // After the checkpoint, if any: whoever reads a line finds at least the data up to the last checkpoint on disk.
      if (k === 0 || nowMs - lastLogMs >= LOG_EVERY_MS || k === count - 1) {
        context.log(line);
        lastLogMs = nowMs;
      }
    }
    // Hold the connections to the end of the last interval: a 30-minute soak lasts 30 minutes.
    await sleep(Math.max(0, startedMs + count * config.intervalMs - Date.now()), context.signal);
    interrupted = context.signal.aborted;
    // What happened to the connections after the last round counts too.
    status = await pool.status('node');
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await pool.close();
    await publisher.close();
  }
}

function formatClock(ms: number): string {
  const totalS = Math.round(ms / 1000);
  return `${Math.floor(totalS / 60)}:${String(totalS % 60).padStart(2, '0')}`;
}

export const soakScenario: Scenario<SoakConfig> = {
  name: 'soak',
  summary: "hold connections for a long time with a message every interval: disconnects, reconnects, loss, latency and the server's memory slope over time",
  agents: true,
  options: [
    { flags: '-c, --connections <count>', description: 'subscribers held for the whole soak', parse: integer(1, 100_000), defaultValue: 1000 },
    { flags: '-d, --duration <duration>', description: 'how long to soak (measuring, after connecting)', parse: duration(1000, 7 * 24 * 3_600_000), defaultValue: 1_800_000, defaultLabel: '30m' },
    { flags: '-i, --interval <duration>', description: 'one message per room every interval (a row in intervals.csv)', parse: duration(500, 3_600_000), defaultValue: 60_000, defaultLabel: '1m' },
    { flags: '--rooms <count>', description: 'spread subscribers over this many rooms (1: all in one room)', parse: integer(1, 10_000), defaultValue: 1 },
    { flags: '--workers <count>', description: 'subscriber worker threads (subscribers are dealt round-robin)', parse: integer(1, 64), defaultValue: 2 },
    { flags: '--connect-concurrency <count>', description: 'connections being opened at once, over all workers', parse: integer(1, 10_000), defaultValue: 100 },
    { flags: '--payload-bytes <bytes>', description: 'content length; the marker (about 40 bytes) is padded up to it', parse: integer(0, 10_000), defaultValue: 0, defaultLabel: 'marker only' },
    { flags: '--cut-at <durations>', description: 'cut every subscriber connection at these times since measuring began, comma-separated (e.g. 5m,20m)', parse: parseCutTimes, defaultValue: [], defaultLabel: 'none' },
    { flags: '--cut-every <duration>', description: 'also cut every subscriber connection once per this period', parse: duration(1000, 24 * 3_600_000) },
    { flags: '--outage <duration>', description: 'after each cut, refuse new connections this long', parse: duration(0, 3_600_000), defaultValue: 0, defaultLabel: '0ms' },
    { flags: '--reconnect-max <duration>', description: "cap on the clients' reconnect backoff (default: the clients' own 5s)", parse: duration(10, 600_000) },
    ...BROWSER_OPTIONS,
  ],
  configFrom(options) {
    // A soak measures whole intervals and lasts as long as they do: a shorter --duration would
    // silently become one interval (a 90 s soak at -i 10m held its connections for 10 minutes).
    if ((options.duration as number) < (options.interval as number)) {
      throw usageError('--duration', formatDurationMs(options.duration as number), `at least --interval (${formatDurationMs(options.interval as number)}): a soak measures whole intervals`);
    }
    const slopeRule = ((options.threshold as Threshold[] | undefined) ?? []).find((t) => isSlopeMetric(t.metric));
    if (slopeRule && (options.duration as number) < SLOPE_MIN_S * 1000) {
      throw usageError('--threshold', slopeRule.text, `a memory-slope rule only on a soak of ${formatDurationMs(SLOPE_MIN_S * 1000)} or more (--duration ${formatDurationMs(options.duration as number)} is too short to tell a leak from memory settling)`);
    }
    return {
      connections: options.connections as number,
      durationMs: options.duration as number,
      intervalMs: options.interval as number,
      rooms: options.rooms as number,
      workers: options.workers as number,
      connectConcurrency: options.connectConcurrency as number,
      payloadBytes: options.payloadBytes as number,
      deadlineMs: options.deadline as number,
      cutAtMs: cutTimes(options.cutAt as number[], options.cutEvery as number | undefined, options.duration as number),
      outageMs: options.outage as number,
      reconnectMaxMs: options.reconnectMax as number | undefined,
      ...browserConfigFrom(options),
    };
  },
  preflight: (config, common) => preflight(loadRequest(config.connections, common, config.cutAtMs.length > 0)),
  tables: (results) => withCommonSections(results, [...soakSection(results), ...browserStepsSection(results)]),
  measuringMs: (config) => config.durationMs,
  files: (results) => soakFiles(results),
  needsProxy: (config) => config.cutAtMs.length > 0,
  reconnectMaxMs: (config) => config.reconnectMaxMs,
  run,
};
