import { nowUs } from '../core/clock.js';
import { type Histogram, latencyStats } from '../core/histogram.js';
import { duration, integer } from '../run/options.js';
import { preflight } from '../run/preflight.js';
import { RoundTotals, errorsSince } from '../load/aggregate.js';
import { SentCounter } from '../load/sent-counter.js';
import { sleep } from '../core/sleep.js';
import { type RampStep, breakingCause, errorRate, parsePercent, parseSteps, stepPlan } from './ramp-step.js';
import { type StepHealth, stepHealth } from './step-health.js';
import { type Round, loadRequest, measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { rampSections } from './ramp-tables.js';
import { withCommonSections } from './tables.js';
import { BROWSER_OPTIONS, type BrowserConfig, browserConfigFrom, browserRound, browserStepsSection, browserThread, openBrowsers } from './browser-subscribers.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import type { RampDetails } from '../core/details.js';
import type { PublishChannel } from '../targets/types.js';

export interface RampConfig extends BrowserConfig {
  readonly steps: readonly number[];
  readonly rooms: number;
  readonly holdMs: number;
  readonly messages: number;
  readonly ratePerS: number;
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly maxErrorRate: number;
  readonly payloadBytes: number;
  readonly deadlineMs: number;
  readonly connectTimeoutMs: number;
}

/** One step's connecting: how many it tried, and what the pool said. */
interface StepConnect {
  readonly attempted: number;
  readonly ok: number;
  readonly okByRoom: Readonly<Record<number, number>>;
  readonly failed: Readonly<Record<string, number>>;
  readonly connectUs: Histogram;
}

/** A step's row: its connects, deliveries, error rate, latency, and the server's and generator's health over its seconds. */
function stepResult(context: ScenarioContext, config: RampConfig, step: number, connect: StepConnect, round: Round, health: StepHealth, errors: Record<string, number>, startedUs: number, previousRssBytes: number | null): RampStep {
  const { merged, publish } = round;
  const { server, generator } = health;
  const failed = connect.attempted - connect.ok;
  const rate = errorRate(connect.attempted, failed, merged.messages);
  const rssPerConnection = server.rssBytesMax !== null && previousRssBytes !== null && connect.attempted > 0 ? Math.round((server.rssBytesMax - previousRssBytes) / connect.attempted) : null;
  return {
    step: step + 1,
    target: config.steps[step] ?? 0,
    connectionsHeld: merged.connected,
    connect: { attempted: connect.attempted, ok: connect.ok, failed, errors: connect.failed, latencyUs: latencyStats(connect.connectUs) },
    messages: merged.messages,
    errorRate: rate,
    latencyUs: {
      perMessage: latencyStats(merged.perMessage),
      fanOutSpread: latencyStats(merged.fanOutSpread),
      publishRtt: publish.latencyUs.publishRtt,
      sendLag: publish.latencyUs.sendLag,
    },
    errors,
    server: server.rssBytesMax !== null ? { ...server, rssPerConnectionBytes: rssPerConnection } : null,
    generator,
    passed: rate <= config.maxErrorRate && !context.signal.aborted,
    durationMs: Math.round((nowUs() - startedUs) / 1000),
  };
}

const ms = (us: number | null): string => ((us ?? 0) / 1000).toFixed(1);

/**
 * Each step: connect the step's new subscribers, warm up, publish the step's messages open loop to
 * everyone held, hold the connections, and judge the step; the first step past --max-error-rate is
 * the breaking point.
 */
async function run(context: ScenarioContext, config: RampConfig): Promise<void> {
  // Users, rooms and tokens for the largest step, before anything is timed.
  const nodeSubscribers = config.steps.at(-1) ?? 0;
  const provisioned = await context.target.provision({ rooms: config.rooms, subscriberRooms: roomsOf(nodeSubscribers + config.browsers, config.rooms), tag: '' });
  const pool = startPool(context, config.workers, provisioned, context.target, browserThread(config));
  /** Chromium subscribers per room, held from the first step on beside the Node ones. */
  const browsersPerRoom = new Map<number, number>();
  let browsersHeld = 0;
  const steps: RampStep[] = [];
  const totals = new RoundTotals();
  let held = 0;
  /** Subscribers connected per room: the audience each room's messages are expected by. */
  const heldPerRoom = new Map<number, number>();
  let current: { step: number } | null = null;
  const sent = new SentCounter();
  let breakingPoint: RampDetails['breakingPoint'] = null;
  const extraReasons: string[] = [];

  context.observe({
    subscribers: config.steps.at(-1) ?? 0,
    generatorThreads: config.workers + 1,
    ownDelay: () => pool.ownDelay,
    live: () => ({ connections: pool.live().connected, sent: sent.total, received: pool.live().arrivals, measuring: current !== null, step: current?.step ?? null }),
    measured: () => ({ result: totals.result(), ...totals.connections }),
    details: () => ({ scenario: 'ramp', steps, breakingPoint, verdict: breakingPoint ? `broke at ${breakingPoint.connections} connections` : steps.length === config.steps.length ? 'every step passed' : 'stopped before the last step' }),
    saturationReasons: () => extraReasons,
  });

  let publisher: PublishChannel | null = null;
  try {
    publisher = context.target.publisher(provisioned);
    let previousRss = (await context.sampleNow())?.serverRssBytes ?? null;
    for (const [step, target] of config.steps.entries()) {
      if (context.signal.aborted) break;
      const stepStartUs = nowUs();
      const before = await pool.status('node');
      const specs = subscriberSpecs(held, target, config.rooms);
      const connect = { attempted: specs.length, ...(await pool.connect(specs, config.connectConcurrency)) };
      held += connect.ok;
      for (const [room, n] of Object.entries(connect.okByRoom)) heldPerRoom.set(Number(room), (heldPerRoom.get(Number(room)) ?? 0) + n);
      if (step === 0 && config.browsers > 0) {
        const browsers = await openBrowsers(context, pool, config, nodeSubscribers, config.rooms);
        browsersHeld = browsers.ok;
        for (const [room, n] of Object.entries(browsers.okByRoom)) browsersPerRoom.set(Number(room), n);
      }
      const connectedAtMs = Date.now();
      await warmUp(context, pool, publisher, { rooms: config.rooms, payloadBytes: config.payloadBytes, expected: held + browsersHeld });

      const plan = stepPlan(config.messages, config.ratePerS, config.rooms);
      context.log(`step ${step + 1}: publishing ${plan.length} messages to ${config.rooms} room(s), ${held} subscribers`);
      const round = await measureRound(context, pool, publisher, {
        plan,
        deadlineMs: config.deadlineMs,
        payloadBytes: config.payloadBytes,
        audience: (room) => heldPerRoom.get(room) ?? 0,
        browserAudience: (room) => browsersPerRoom.get(room) ?? 0,
        onStart: (publishRecorder) => {
          current = { step: step + 1 }; // 1-based, as in the report
          sent.follow(publishRecorder);
          pool.takeHealth(); // after the workers' measure replies: every older tick has been received and is dropped
        },
      });
      await sleep(Math.max(0, connectedAtMs + config.holdMs - Date.now()), context.signal);
      await context.sampleNow(); // the step's closing reading, still tagged with this step
      current = null;

      const health = stepHealth(context.samples(), step + 1, config.workers, round.publish.latencyUs.sendLag.p99, pool.takeHealth(), round.merged);
      const errors = { ...round.merged.errors, ...round.publish.errors, ...errorsSince((await pool.status('node')).errors, before.errors, 'subscriber:') };
      const browsers = browserRound(round, browsersHeld);
      const result = { ...stepResult(context, config, step, connect, round, health, errors, stepStartUs, previousRss), ...(browsers ? { browsers } : {}) };
      previousRss = health.server.rssBytesMax ?? previousRss;
      steps.push(result);
      totals.add(round, errors);
      totals.addErrors(connect.failed, 'connect:');
      const reasons = health.generator.saturationReasons;
      for (const reason of reasons) extraReasons.push(`step ${step + 1} (${target}): ${reason}`);
      context.log(`step ${step + 1}: ${result.connectionsHeld} held, error rate ${(result.errorRate * 100).toFixed(2)}%, p50 ${ms(result.latencyUs.perMessage.p50)} ms, p99 ${ms(result.latencyUs.perMessage.p99)} ms${reasons.length ? ' (generator saturated)' : ''}`);
      await context.checkpoint();
      if (context.signal.aborted) break;
      if (!result.passed) {
        breakingPoint = { step: step + 1, connections: target, errorRate: result.errorRate, cause: breakingCause(result, false) };
        context.log(`breaking point at ${target} connections: ${breakingPoint.cause}`);
        break;
      }
    }
  } finally {
    current = null;
    await pool.close();
    await publisher?.close();
  }
}

export const rampScenario: Scenario<RampConfig> = {
  name: 'ramp',
  summary: 'step up to 10,000 subscribers: connect time, latency, loss, CPU and memory per step, and the breaking point',
  agents: true,
  options: [
    { flags: '--steps <counts>', description: 'connections held at each step, comma-separated', parse: parseSteps, defaultValue: [100, 1000, 5000, 10_000], defaultLabel: '100,1000,5000,10000' },
    { flags: '--rooms <count>', description: 'spread subscribers over this many rooms (1: all in one room)', parse: integer(1, 10_000), defaultValue: 1 },
    { flags: '--hold <duration>', description: 'minimum time each step holds its connections', parse: duration(0, 3_600_000), defaultValue: 5000, defaultLabel: '5s' },
    { flags: '--messages <count>', description: 'messages published to each room per step', parse: integer(1, 100_000), defaultValue: 10 },
    { flags: '--rate <per-second>', description: 'messages per second per room', parse: integer(1, 10_000), defaultValue: 2 },
    { flags: '--workers <count>', description: 'subscriber worker threads (subscribers are dealt round-robin)', parse: integer(1, 64), defaultValue: 2 },
    { flags: '--connect-concurrency <count>', description: 'connections being opened at once, over all workers', parse: integer(1, 10_000), defaultValue: 100 },
    { flags: '--max-error-rate <percent>', description: 'a step whose (failed connects + lost deliveries) / (attempts + expected) passes this is the breaking point', parse: parsePercent, defaultValue: 0.05, defaultLabel: '5%' },
    { flags: '--payload-bytes <bytes>', description: 'content length; the marker (about 40 bytes) is padded up to it', parse: integer(0, 10_000), defaultValue: 0, defaultLabel: 'marker only' },
    ...BROWSER_OPTIONS,
  ],
  configFrom(options) {
    return {
      ...browserConfigFrom(options),
      steps: options.steps as number[],
      rooms: options.rooms as number,
      holdMs: options.hold as number,
      messages: options.messages as number,
      ratePerS: options.rate as number,
      workers: options.workers as number,
      connectConcurrency: options.connectConcurrency as number,
      maxErrorRate: options.maxErrorRate as number,
      payloadBytes: options.payloadBytes as number,
      deadlineMs: options.deadline as number,
      connectTimeoutMs: options.connectTimeout as number,
    };
  },
  preflight: (config, common) => preflight(loadRequest(config.steps.at(-1) ?? 0, common, false)),
  tables: (results) => withCommonSections(results, [...rampSections(results), ...browserStepsSection(results)]),
  measuringMs: (config) => config.steps.length * Math.max(config.holdMs, (config.messages / config.ratePerS) * 1000),
  run,
};
