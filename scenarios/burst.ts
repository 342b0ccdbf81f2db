import { type Histogram, encodeHistogram, latencyStats, mergeEncoded } from '../core/histogram.js';
import { RtbError } from '../core/errors.js';
import { NO_OWN_DELAY } from '../core/own-delay.js';
import { LATENCY_KINDS, type LatencyKind, type RecorderResult } from '../core/result.js';
import { integer, duration } from '../run/options.js';
import { type PlannedMessage, Recorder } from '../load/recorder.js';
import { SentCounter } from '../load/sent-counter.js';
import { errorsSince } from '../load/aggregate.js';
import { sleep } from '../core/sleep.js';
import type { SubscriberPool } from '../load/worker/pool.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import type { PublishChannel } from '../targets/types.js';
import { measureRound, startPool, subscriberSpecs, warmUp, type Round } from './pool-run.js';
import { withCommonSections } from './tables.js';
import { BROWSER_OPTIONS, type BrowserConfig, browserConfigFrom, browserSection, browserSubscribers, browserThread, openBrowsers } from './browser-subscribers.js';
import type { BrowserSubscribers } from '../core/details.js';

export interface BurstConfig extends BrowserConfig {
  readonly subscribers: number;
  readonly bursts: number;
  readonly burstSize: number;
  /** Between two sends of one burst. */
  readonly gapMs: number;
  /** From the last send of a burst to the first of the next. */
  readonly pauseMs: number;
  /** Content length in bytes; the marker is padded up to it. */
  readonly payloadBytes: number;
  readonly deadlineMs: number;
  readonly connectTimeoutMs: number;
  /** Warm-up messages sent (and never counted) before measuring, at least until every subscriber got one. */
  readonly warmupMessages: number;
}

/** One subscriber thread here; each agent holds as many. */
const LOCAL_THREADS = 1;
/** How long a failed or interrupted burst waits for its threads' error counts before it closes them. */
const STATUS_LIMIT_MS = 2000;
/** Every subscriber gets a warm-up message within this (or --connect-timeout, if longer), else the run fails. */
const WARMUP_LIMIT_MS = 5000;

/** The schedule: burst b's message i is due at start + b * (gaps + pause) + i * gap. */
export function burstPlan(config: Pick<BurstConfig, 'bursts' | 'burstSize' | 'gapMs' | 'pauseMs'>): PlannedMessage[] {
  const periodUs = ((config.burstSize - 1) * config.gapMs + config.pauseMs) * 1000;
  const plan: PlannedMessage[] = [];
  for (let burst = 0; burst < config.bursts; burst++) {
    for (let i = 0; i < config.burstSize; i++) {
      plan.push({ seq: plan.length, group: burst, offsetUs: Math.round(burst * periodUs + i * config.gapMs * 1000) });
    }
  }
  return plan;
}

/** A burst's result from the pool's merged round: the same fields a one-thread burst reports. */
export function pooledResult(round: Round): RecorderResult {
  const { merged, publish } = round;
  const histograms: Record<LatencyKind, Histogram> = {
    perMessage: merged.perMessage,
    burstCompletion: merged.burstCompletion,
    fanOutSpread: merged.fanOutSpread,
    publishRtt: mergeEncoded([publish.histograms.publishRtt]),
    sendLag: mergeEncoded([publish.histograms.sendLag]),
  };
  const latencyUs = {} as RecorderResult['latencyUs'];
  const encoded = {} as RecorderResult['histograms'];
  for (const kind of LATENCY_KINDS) {
    latencyUs[kind] = latencyStats(histograms[kind]);
    encoded[kind] = encodeHistogram(histograms[kind]);
  }
  return { messages: merged.messages, subscriberBursts: merged.subscriberBursts, latencyUs, histograms: encoded, errors: { ...merged.errors, ...publish.errors } };
}

/**
 * N subscribers in one room, held by subscriber threads (one here, one on each agent), every one
 * connected and warmed up before the bursts are published on their schedule.
 */
async function run(context: ScenarioContext, config: BurstConfig): Promise<void> {
  const plan = burstPlan(config);
  let pool: SubscriberPool | null = null;
  let publisher: PublishChannel | null = null;
  let result: RecorderResult | null = null;
  let held = 0;
  let browsers: BrowserSubscribers | undefined;
  let measuring = false;
  let status = { reconnects: 0, gaps: 0, sends: 0 };
  /** What broke or troubled the subscriptions (`subscriber:<code>`), read before the pool closes, whatever ended the run. */
  let subscriberErrors: Record<string, number> = {};
  const sent = new SentCounter();
  context.observe({
    subscribers: config.subscribers,
    details: () => ({ scenario: 'burst', ...(browsers ? { browsers } : {}) }),
    generatorThreads: LOCAL_THREADS + 1,
    ownDelay: () => pool?.ownDelay ?? NO_OWN_DELAY,
    live: () => ({ connections: pool?.live().connected ?? 0, sent: sent.total, received: pool?.live().arrivals ?? 0, measuring }),
    measured: () => {
      const measuredSoFar = result ?? new Recorder({ runId: context.runId, plan: [], deadlineUs: 1 }).result(0);
      return { result: { ...measuredSoFar, errors: { ...measuredSoFar.errors, ...subscriberErrors } }, ...status };
    },
  });
  try {
    const everyone = config.subscribers + config.browsers;
    const provisioned = await context.target.provision({ rooms: 1, subscriberRooms: new Array<number>(everyone).fill(0), tag: '' });
    publisher = context.target.publisher(provisioned);
    const http2 = context.target.context.http2 === true;
    pool = startPool(context, LOCAL_THREADS, provisioned, context.target, browserThread(config));
    context.log(`connecting ${config.subscribers} subscribers to one room over ${pool.size} subscriber thread${pool.size === 1 ? '' : 's'}${context.agents ? ' (agents included)' : ''}`);
    const connect = await pool.connect(subscriberSpecs(0, config.subscribers, 1), 100);
    held = connect.ok;
    if (held < config.subscribers) {
      throw new RtbError('RTB_ERR_NOT_READY', `${config.subscribers - held} of ${config.subscribers} ${context.transport} subscribers could not connect (${JSON.stringify(connect.failed)})`);
    }
    let browsersHeld = 0;
    let browserConnect = { ok: 0, failed: {} as Record<string, number> };
    if (config.browsers > 0) {
      browserConnect = await openBrowsers(context, pool, config, config.subscribers, 1);
      browsersHeld = browserConnect.ok;
      browsers = browserSubscribers(config, context.transport, http2, browserConnect, null);
    }
    await warmUp(context, pool, publisher, {
      rooms: 1,
      payloadBytes: config.payloadBytes,
      expected: held + browsersHeld,
      atLeast: config.warmupMessages,
      limitMs: Math.max(config.connectTimeoutMs, WARMUP_LIMIT_MS),
      required: true,
    });
    context.log(`publishing ${config.bursts} bursts of ${config.burstSize} (${plan.length} messages)`);
    measuring = true;
    const round = await measureRound(context, pool, publisher, {
      plan,
      keepAwake: true,
      deadlineMs: config.deadlineMs,
      payloadBytes: config.payloadBytes,
      audience: () => held,
      browserAudience: () => browsersHeld,
      onStart: (recorder) => sent.follow(recorder),
    });
    measuring = false;
    result = pooledResult(round);
    if (config.browsers > 0) browsers = browserSubscribers(config, context.transport, http2, browserConnect, round);
    const { reconnects, gaps, sends } = await pool.status('node');
    status = { reconnects, gaps, sends };
  } finally {
    // Bounded: a thread that is gone (an agent that refused the run) never answers.
    const limit = new AbortController();
    const errors = pool ? await Promise.race([pool.status('node').then((s) => s.errors, () => ({})), sleep(STATUS_LIMIT_MS, limit.signal).then(() => ({}))]) : {};
    limit.abort();
    subscriberErrors = errorsSince(errors, {}, 'subscriber:');
    await pool?.close();
    await publisher?.close();
  }
}

export const burstScenario: Scenario<BurstConfig> = {
  name: 'burst',
  summary: "the original study's burst-latency test: N subscribers in one room, bursts of messages sent on a fixed open-loop schedule",
  agents: true,
  options: [
    { flags: '-s, --subscribers <count>', description: 'subscribers in the room', parse: integer(1, 100_000), defaultValue: 10 },
    { flags: '-b, --bursts <count>', description: 'bursts to send', parse: integer(1, 1_000_000), defaultValue: 200 },
    { flags: '--burst-size <count>', description: 'messages per burst', parse: integer(1, 10_000), defaultValue: 3 },
    { flags: '--gap <duration>', description: 'between two messages of a burst', parse: duration(0, 3_600_000), defaultValue: 50, defaultLabel: '50ms' },
    { flags: '--pause <duration>', description: 'from the last message of a burst to the first of the next', parse: duration(0, 3_600_000), defaultValue: 100, defaultLabel: '100ms' },
    { flags: '--payload-bytes <bytes>', description: 'content length; the marker (about 40 bytes) is padded up to it', parse: integer(0, 10_000), defaultValue: 0, defaultLabel: 'marker only' },
    { flags: '--warmup <count>', description: 'warm-up messages before measuring (never counted)', parse: integer(1, 10_000), defaultValue: 10 },
    ...BROWSER_OPTIONS,
  ],
  configFrom(options) {
    return {
      subscribers: options.subscribers as number,
      bursts: options.bursts as number,
      burstSize: options.burstSize as number,
      gapMs: options.gap as number,
      pauseMs: options.pause as number,
      payloadBytes: options.payloadBytes as number,
      deadlineMs: options.deadline as number,
      connectTimeoutMs: options.connectTimeout as number,
      warmupMessages: options.warmup as number,
      ...browserConfigFrom(options),
    };
  },
  run,
  tables: (results) => withCommonSections(results, browserSection(results)),
  measuringMs: (config) => config.bursts * ((config.burstSize - 1) * config.gapMs + config.pauseMs),
};
