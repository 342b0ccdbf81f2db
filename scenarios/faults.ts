import { InvalidArgumentError } from 'commander';
import { nowUs } from '../core/clock.js';
import { encodeHistogram, latencyStats } from '../core/histogram.js';
import { duration, integer } from '../run/options.js';
import { addCounts, addErrors, aggregateResult, emptyCounts, errorsSince } from '../load/aggregate.js';
import { preflight } from '../run/preflight.js';

import { sleep } from '../core/sleep.js';
import type { SubscriberPool } from '../load/worker/pool.js';
import { NO_OWN_DELAY, type OwnDelay, mergeOwnDelay } from '../core/own-delay.js';
import { loadRequest, measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { stepPlan } from './ramp-step.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import { type FaultRow, faultsHeadline, faultsSection } from './faults-tables.js';
import { withCommonSections } from './tables.js';
import { BROWSER_OPTIONS, type BrowserConfig, browserConfigFrom, browserRound, browserThread, openBrowsers } from './browser-subscribers.js';
import type { ConnectionStatus } from '../load/worker/protocol.js';
import type { LiveCounters, MessageCounts } from '../core/result.js';
import { SentCounter } from '../load/sent-counter.js';

export interface FaultsConfig extends BrowserConfig {
  readonly connections: number;
  readonly intervalMs: number;
  /** Messages are published for this long around each fault; the timeline is five windows long. */
  readonly windowMs: number;
  readonly outageMs: number;
  readonly lossProbability: number;
  readonly workers: number;
  readonly modes: readonly boolean[];
  readonly deadlineMs: number;
  readonly payloadBytes: number;
  /** Built-in instances: with several, the proxy's faults (one server behind it) give way to the cluster's. */
  readonly instances: number;
  /** `memory` or the Redis URL the built-in instances share. */
  readonly bus: string;
}

type FaultKind = 'cut' | 'outage' | 'stall' | 'random-loss' | 'restart' | 'rolling-restart' | 'bus-outage';
const TIMELINE: readonly FaultKind[] = ['cut', 'outage', 'stall', 'random-loss', 'restart', 'rolling-restart', 'bus-outage'];
const PROXY_FAULTS: readonly FaultKind[] = ['cut', 'outage', 'stall', 'random-loss'];

/** The faults this run can inject: the proxy's with one server, the cluster's with several, the bus's on Redis. */
function faultsOf(context: ScenarioContext): FaultKind[] {
  return TIMELINE.filter((kind) => {
    if (PROXY_FAULTS.includes(kind)) return context.proxy !== null;
    if (kind === 'restart') return context.restartServer !== null;
    if (kind === 'rolling-restart') return context.restartInstance !== null && context.instances > 1;
    return context.busOutage !== null;
  });
}
/** The faults of a one-server run that this one cannot inject, and why: said, never silently left out. */
function notRun(context: ScenarioContext): string[] {
  if (context.proxy === null || context.instances > 1 || context.restartServer !== null) return [];
  return ['restart: skipped, rtbench can restart only a built-in server it started (not a --target)'];
}

/** Reconnect waits stop growing here: a subscriber back within half a second of the fault's end, not five. */
export const FAULTS_RECONNECT_MAX_MS = 500;
/** A fault starts this far into its window, so the window opens with a clean message. */
const FAULT_OFFSET_MS = 1000;
const STATUS_POLL_MS = 50;


function describe(kind: FaultKind, config: FaultsConfig): string {
  switch (kind) {
    case 'cut':
      return 'every connection cut once';
    case 'outage':
      return `every connection cut, new ones refused for ${config.outageMs} ms`;
    case 'stall':
      return `server-to-client bytes held for ${config.outageMs} ms (one-way partition, nothing dropped)`;
    case 'random-loss':
      return `each connection cut with probability ${config.lossProbability} per second for ${config.outageMs * 2} ms (seeded)`;
    case 'restart':
      return config.bus === 'memory'
        ? 'built-in server killed and restarted on the same port (history lost)'
        : `every built-in instance stopped and started again on its port (history kept in Redis)`;
    case 'rolling-restart':
      return `each of the ${config.instances} instances in turn stopped and started again on its port, the others serving on`;
    case 'bus-outage':
      return `Redis unreachable to every instance for ${config.outageMs} ms (connections cut, new ones refused); recovery counted from its return`;
  }
}

/** Polls until every held subscriber (of one kind) is connected on a connection opened at or after `sinceUs`. */
async function recovery(status: () => Promise<ConnectionStatus>, sinceUs: number, untilMs: number, signal: AbortSignal, requireNew: boolean): Promise<number | null> {
  while (Date.now() < untilMs && !signal.aborted) {
    const now = await status();
    if (now.connected === now.held && (!requireNew || now.lastOpenedUs >= sinceUs)) {
      return Math.max(0, Math.round(((requireNew ? now.lastOpenedUs : nowUs()) - sinceUs) / 1000));
    }
    await sleep(STATUS_POLL_MS, signal);
  }
  return null;
}

async function inject(context: ScenarioContext, kind: FaultKind, config: FaultsConfig): Promise<void> {
  if (kind === 'restart') return void (await context.restartServer?.());
  if (kind === 'rolling-restart') {
    for (let index = 0; index < context.instances && !context.signal.aborted; index++) await context.restartInstance?.(index);
    return;
  }
  if (kind === 'bus-outage') return void (await context.busOutage?.(config.outageMs));
  const proxy = context.proxy;
  if (!proxy) throw new Error(`fault ${kind} needs the proxy`);
  switch (kind) {
    case 'cut':
      proxy.cut();
      return;
    case 'outage':
      proxy.refuse(true);
      proxy.cut();
      await sleep(config.outageMs, context.signal);
      proxy.refuse(false);
      return;
    case 'stall':
      proxy.stall('down', config.outageMs);
      await sleep(config.outageMs, context.signal);
      return;
    case 'random-loss':
      proxy.loss(config.lossProbability, config.outageMs * 2);
      await sleep(config.outageMs * 2, context.signal);
      return;
  }
}

/**
 * What the per-second samples and the own-delay bound read while the modes run one after another,
 * each with a pool of its own. A new pool counts arrivals from zero: the finished modes' counts are
 * carried here, so the second a mode changes does not read a negative number of messages.
 */
class ModesLive {
  private pool: SubscriberPool | null = null;
  private ownDelayBefore: OwnDelay = NO_OWN_DELAY;
  private receivedBefore = 0;
  readonly sent = new SentCounter();

  begin(pool: SubscriberPool): void {
    this.pool = pool;
  }

  end(pool: SubscriberPool): void {
    this.ownDelayBefore = mergeOwnDelay([this.ownDelayBefore, pool.ownDelay]);
    this.receivedBefore += pool.live().arrivals;
    this.sent.follow(null);
    this.pool = null;
  }

  get ownDelay(): OwnDelay {
    return mergeOwnDelay([this.ownDelayBefore, this.pool?.ownDelay ?? NO_OWN_DELAY]);
  }

  counters(): LiveCounters {
    const pool = this.pool?.live();
    return { connections: pool?.connected ?? 0, sent: this.sent.total, received: this.receivedBefore + (pool?.arrivals ?? 0), measuring: this.pool !== null };
  }
}

async function runMode(
  context: ScenarioContext,
  config: FaultsConfig,
  resume: boolean,
  live: ModesLive,
  measured: { rows: FaultRow[]; histograms: string[]; totals: Record<keyof MessageCounts, number>; errors: Record<string, number>; sends: number },
): Promise<void> {
  const { rows, histograms, totals, errors } = measured;
  /** Sends of the modes before this one (each mode has a pool of its own). */
  const sendsBefore = measured.sends;
  // Each mode in a room of its own, provisioned before anything is timed.
  const target = context.target.withResume(resume);
  const everyone = config.connections + config.browsers;
  const provisioned = await target.provision({ rooms: 1, subscriberRooms: roomsOf(everyone, 1), tag: resume ? '-resume' : '-noresume' });
  const pool = startPool(context, config.workers, provisioned, target, browserThread(config));
  live.begin(pool);
  // The publisher talks to the server directly, so it keeps publishing through subscriber-side faults.
  const publisher = target.direct().publisher(provisioned);
  try {
    const connect = await pool.connect(subscriberSpecs(0, config.connections, 1), 100);
    const held = connect.ok;
    const browsersHeld = config.browsers > 0 ? (await openBrowsers(context, pool, config, config.connections, 1)).ok : 0;
    await warmUp(context, pool, publisher, { rooms: 1, payloadBytes: config.payloadBytes, expected: held + browsersHeld });
    const kinds = faultsOf(context);
    for (const kind of kinds) {
      if (context.signal.aborted) break;
      context.log(`resume ${resume ? 'on' : 'off'}: ${describe(kind, config)}`);
      const windowStartMs = Date.now();
      const before = await pool.status('node');
      const browsersBefore = browsersHeld > 0 ? await pool.status('browser') : null;
      let recoveryMs: number | null = null;
      let browserRecoveryMs: number | null = null;
      const faultAt = windowStartMs + FAULT_OFFSET_MS;
      const fault = (async () => {
        await sleep(Math.max(0, faultAt - Date.now()), context.signal);
        const faultUs = nowUs();
        await inject(context, kind, config);
        // Subscribers stay connected through a bus outage: what counts is how soon after Redis is back.
        const fromUs = kind === 'bus-outage' ? nowUs() : faultUs;
        // A stall drops no connection: there is nothing to reconnect, so no recovery time. Random
        // loss and a bus outage need not cut every connection: recovery is all of them open again.
        if (kind === 'stall') return;
        const untilMs = Date.now() + config.windowMs + config.deadlineMs;
        const requireNew = kind !== 'random-loss' && kind !== 'bus-outage';
        [recoveryMs, browserRecoveryMs] = await Promise.all([
          recovery(() => pool.status('node'), fromUs, untilMs, context.signal, requireNew),
          browsersHeld > 0 ? recovery(() => pool.status('browser'), fromUs, untilMs, context.signal, requireNew) : null,
        ]);
      })();
      // One round per window: every message keeps the full deadline, so a message held through an
      // outage or a stall and delivered after it counts as received (late only past the deadline).
      const messagesPerWindow = Math.max(1, Math.floor(config.windowMs / config.intervalMs));
      const round = await measureRound(context, pool, publisher, {
        plan: stepPlan(messagesPerWindow, 1000 / config.intervalMs, 1),
        deadlineMs: config.deadlineMs,
        payloadBytes: config.payloadBytes,
        audience: () => held,
        browserAudience: () => browsersHeld,
        onStart: (recorder) => live.sent.follow(recorder),
      });
      await fault;
      const after = await pool.status('node');
      const browsersAfter = browsersBefore ? await pool.status('browser') : null;
      const browserPart = browserRound(round, browsersHeld);
      measured.sends = sendsBefore + after.sends;
      addErrors(errors, { ...round.publish.errors, ...errorsSince(after.errors, before.errors, 'subscriber:') });
      const messages = round.merged.messages;
      addCounts(totals, messages);
      const histogram = encodeHistogram(round.merged.perMessage);
      histograms.push(histogram);
      rows.push({
        histogram,
        resume,
        fault: kind,
        description: describe(kind, config),
        recoveryMs,
        disconnects: after.disconnects - before.disconnects,
        reconnects: after.reconnects - before.reconnects,
        failedReconnects: after.failedAttempts - before.failedAttempts,
        gaps: after.gaps - before.gaps,
        messages,
        latencyUs: latencyStats(round.merged.perMessage),
        publishErrors: Object.values(round.publish.errors).reduce((a, b) => a + b, 0),
        ...(browserPart && browsersBefore && browsersAfter
          ? {
              browsers: {
                recoveryMs: browserRecoveryMs,
                disconnects: browsersAfter.disconnects - browsersBefore.disconnects,
                reconnects: browsersAfter.reconnects - browsersBefore.reconnects,
                failedReconnects: browsersAfter.failedAttempts - browsersBefore.failedAttempts,
                messages: browserPart.messages,
                latencyUs: browserPart.latencyUs,
                histogram: browserPart.histogram,
              },
            }
          : {}),
      });
      await context.checkpoint();
    }
  } finally {
    live.end(pool);
    await pool.close();
    await publisher.close();
  }
}

async function run(context: ScenarioContext, config: FaultsConfig): Promise<void> {
  const rows: FaultRow[] = [];
  /** Faults and modes not run, and why (a --target rtbench cannot restart, a profile that cannot resume). */
  const skipped: string[] = notRun(context);
  for (const why of skipped) context.log(why);
  const histograms: string[] = [];
  const totals = emptyCounts();
  const errors: Record<string, number> = {};
  /** What this run measured, added to by each mode. */
  const measured = { rows, histograms, totals, errors, sends: 0 };
  const live = new ModesLive();
  context.observe({
    subscribers: config.connections,
    generatorThreads: config.workers + 1,
    ownDelay: () => live.ownDelay,
    live: () => live.counters(),
    measured: () => ({
      result: aggregateResult(totals, { perMessage: histograms }, errors),
      reconnects: rows.reduce((n, r) => n + r.reconnects, 0),
      gaps: rows.reduce((n, r) => n + r.gaps, 0),
      sends: measured.sends,
    }),
    details: () => ({ scenario: 'faults', faults: rows, skipped }),
  });
  for (const resume of config.modes) {
    if (context.signal.aborted) break;
    if (resume && !context.target.canResume) {
      const why = `resume on: skipped, profile ${context.target.profile.name} cannot resume over ${context.transport}`;
      skipped.push(why);
      context.log(why);
      continue;
    }
    await runMode(context, config, resume, live, measured);
  }
}

const MODES: Record<string, boolean[]> = { both: [true, false], on: [true], off: [false] };

function probability(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value >= 0 && value <= 1)) throw new InvalidArgumentError('expected a probability from 0 to 1.');
  return value;
}

export const faultsScenario: Scenario<FaultsConfig> = {
  name: 'faults',
  summary: 'how each transport behaves when connections are cut, the link stalls or drops, the server restarts (with --instances: one instance after another) and the Redis bus goes away: recovery time and exact loss, resume on and off',
  options: [
    { flags: '-c, --connections <count>', description: 'subscribers per run', parse: integer(1, 10_000), defaultValue: 50 },
    { flags: '-i, --interval <duration>', description: 'one message every interval', parse: duration(100, 60_000), defaultValue: 250, defaultLabel: '250ms' },
    { flags: '--window <duration>', description: 'messages are published this long around each fault (it starts 1 s in); five windows per run', parse: duration(3000, 600_000), defaultValue: 5000, defaultLabel: '5s' },
    { flags: '--outage <duration>', description: 'how long an outage or stall lasts (random loss lasts twice this)', parse: duration(0, 600_000), defaultValue: 1500, defaultLabel: '1.5s' },
    { flags: '--loss <probability>', description: 'random loss: chance per connection per second of being cut', parse: probability, defaultValue: 0.2 },
    { flags: '--modes <which>', description: 'resume on, off, or both (each a separate run)', choices: ['both', 'on', 'off'], defaultValue: 'both' },
    { flags: '--workers <count>', description: 'subscriber worker threads', parse: integer(1, 64), defaultValue: 1 },
    ...BROWSER_OPTIONS,
  ],
  configFrom(options) {
    return {
      connections: options.connections as number,
      intervalMs: options.interval as number,
      windowMs: options.window as number,
      outageMs: options.outage as number,
      lossProbability: options.loss as number,
      workers: options.workers as number,
      modes: MODES[options.modes as string] ?? [true, false],
      deadlineMs: options.deadline as number,
      payloadBytes: 0,
      instances: options.instances as number,
      bus: (options.bus as string | undefined) ?? 'memory',
      ...browserConfigFrom(options),
    };
  },
  // Six runs of five windows must fit in five minutes: a lost message is given up on sooner than in burst.
  commonDefaults: { deadline: 4000 },
  preflight: (config, common) => preflight(loadRequest(config.connections, common, true)),
  tables: (results) => withCommonSections(results, faultsSection(results), faultsHeadline(results)),
  // Five windows a mode on one server (the proxy's four faults and a restart), three on a cluster.
  measuringMs: (config) => config.modes.length * (config.instances > 1 ? 3 : 5) * config.windowMs,
  needsProxy: (config) => config.instances === 1,
  resumeOnly: (config) => (config.modes.length === 1 && config.modes[0] === true ? { option: '--modes', value: 'on' } : null),
  busFaults: (config) => config.bus !== 'memory',
  reconnectMaxMs: () => FAULTS_RECONNECT_MAX_MS,
  run,
};
