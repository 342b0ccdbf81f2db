import { nowUs } from '../core/clock.js';
import { encodeHistogram, latencyStats } from '../core/histogram.js';
import { duration, integer } from '../run/options.js';
import { preflight } from '../run/preflight.js';
import { addCounts, addErrors, aggregateResult, emptyCounts, errorsSince } from '../load/aggregate.js';
import { Recorder } from '../load/recorder.js';
import { SentCounter } from '../load/sent-counter.js';
import { sleep } from '../core/sleep.js';
import { type RampStep, breakingCause, errorRate, parsePercent, parseSteps, stepPlan } from './ramp-step.js';
import { stepHealth } from './step-health.js';
import { loadRequest, measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { rampSections } from './ramp-tables.js';
import { withCommonSections } from './tables.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import type { LatencyKind } from '../core/result.js';

export interface RampConfig {
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

async function run(context: ScenarioContext, config: RampConfig): Promise<void> {
  // Users, rooms and tokens for the largest step, before anything is timed.
  const provisioned = await context.target.provision({ rooms: config.rooms, subscriberRooms: roomsOf(config.steps.at(-1) ?? 0, config.rooms), tag: '' });
  const pool = startPool(context, config.workers, provisioned);
  const cleanups: Array<() => Promise<void>> = [];
  const steps: RampStep[] = [];
  /** Encoded per-step histograms of each kind, merged for the transport's overall figures. */
  const histograms: Record<LatencyKind, string[]> = { perMessage: [], burstCompletion: [], fanOutSpread: [], publishRtt: [], sendLag: [] };
  const totals = emptyCounts();
  const errorTotals: Record<string, number> = {};
  let reconnects = 0;
  let gaps = 0;
  let sends = 0;
  let held = 0;
  /** Subscribers connected per room: the audience each room's messages are expected by. */
  const heldPerRoom = new Map<number, number>();
  let current: { step: number; publishRecorder: Recorder } | null = null;
  const sent = new SentCounter();
  let breakingPoint: { step: number; connections: number; errorRate: number; cause: string } | null = null;
  const extraReasons: string[] = [];

  context.observe({
    subscribers: config.steps.at(-1) ?? 0,
    generatorThreads: config.workers + 1,
    ownDelay: () => pool.ownDelay,
    live: () => ({
      connections: pool.live().connected,
      sent: sent.total,
      received: pool.live().arrivals,
      measuring: current !== null,
      step: current?.step ?? null,
    }),
    measured: () => ({ result: aggregateResult(totals, histograms, errorTotals), reconnects, gaps, sends }),
    details: () => ({ scenario: 'ramp', steps, breakingPoint, verdict: breakingPoint ? `broke at ${breakingPoint.connections} connections` : steps.length === config.steps.length ? 'every step passed' : 'stopped before the last step' }),
    saturationReasons: () => extraReasons,
  });

  try {
    const baseline = await context.sampleNow();
    const publisher = context.target.publisher(provisioned);
    cleanups.push(() => publisher.close());
    let previousRss = baseline?.serverRssBytes ?? null;
    for (const [step, target] of config.steps.entries()) {
      if (context.signal.aborted) break;
      const stepStartUs = nowUs();
      const before = await pool.status();
      const specs = subscriberSpecs(held, target, config.rooms);
      const connect = await pool.connect(specs, config.connectConcurrency);
      const connectFailed = specs.length - connect.ok;
      held += connect.ok;
      for (const [room, n] of Object.entries(connect.okByRoom)) heldPerRoom.set(Number(room), (heldPerRoom.get(Number(room)) ?? 0) + n);
      const connectedAtMs = Date.now();
      await warmUp(context, pool, publisher, config.rooms, config.payloadBytes, held);

      const plan = stepPlan(config.messages, config.ratePerS, config.rooms);
      context.log(`step ${step + 1}: publishing ${plan.length} messages to ${config.rooms} room(s), ${held} subscribers`);
      const round = await measureRound(context, pool, publisher, {
        plan,
        deadlineMs: config.deadlineMs,
        payloadBytes: config.payloadBytes,
        audience: (room) => heldPerRoom.get(room) ?? 0,
        onStart: (publishRecorder) => {
          current = { step: step + 1, publishRecorder }; // 1-based, as in the report
          sent.follow(publishRecorder);
          pool.takeHealth(); // after the workers' measure replies: every older tick has been received and is dropped
        },
      });
      await sleep(Math.max(0, connectedAtMs + config.holdMs - Date.now()), context.signal);

      const { merged, publish: publishResult } = round;
      await context.sampleNow(); // the step's closing reading, still tagged with this step
      current = null;
      const { server, generator } = stepHealth(context.samples(), step + 1, config.workers, publishResult.latencyUs.sendLag.p99, pool.takeHealth(), merged);
      const reasons = generator.saturationReasons;
      const messages = merged.messages;
      const rate = errorRate(specs.length, connectFailed, messages);
      const rssPerConnection =
        server.rssBytesMax !== null && previousRss !== null && specs.length > 0 ? Math.round((server.rssBytesMax - previousRss) / specs.length) : null;
      previousRss = server.rssBytesMax ?? previousRss;
      const result: RampStep = {
        step: step + 1,
        target,
        connectionsHeld: merged.connected,
        connect: { attempted: specs.length, ok: connect.ok, failed: connectFailed, errors: connect.failed, latencyUs: latencyStats(connect.connectUs) },
        messages,
        errorRate: rate,
        latencyUs: {
          perMessage: latencyStats(merged.perMessage),
          fanOutSpread: latencyStats(merged.fanOutSpread),
          publishRtt: publishResult.latencyUs.publishRtt,
          sendLag: publishResult.latencyUs.sendLag,
        },
        errors: { ...merged.errors, ...publishResult.errors, ...errorsSince((await pool.status()).errors, before.errors, 'subscriber:') },
        server: server.rssBytesMax !== null ? { ...server, rssPerConnectionBytes: rssPerConnection } : null,
        generator,
        passed: rate <= config.maxErrorRate && !context.signal.aborted,
        durationMs: Math.round((nowUs() - stepStartUs) / 1000),
      };
      steps.push(result);
      addCounts(totals, messages);
      addErrors(errorTotals, result.errors);
      addErrors(errorTotals, connect.failed, 'connect:');
      histograms.perMessage.push(encodeHistogram(merged.perMessage));
      histograms.fanOutSpread.push(encodeHistogram(merged.fanOutSpread));
      histograms.publishRtt.push(publishResult.histograms.publishRtt);
      histograms.sendLag.push(publishResult.histograms.sendLag);
      reconnects = merged.reconnects;
      gaps = merged.gaps;
      sends = merged.sends;
      for (const reason of reasons) extraReasons.push(`step ${step + 1} (${target}): ${reason}`);
      context.log(
        `step ${step + 1}: ${merged.connected} held, error rate ${(rate * 100).toFixed(2)}%, p50 ${((result.latencyUs.perMessage.p50 ?? 0) / 1000).toFixed(1)} ms, p99 ${((result.latencyUs.perMessage.p99 ?? 0) / 1000).toFixed(1)} ms${reasons.length ? ' (generator saturated)' : ''}`,
      );
      await context.checkpoint();
      if (context.signal.aborted) break;
      if (!result.passed) {
        breakingPoint = { step: step + 1, connections: target, errorRate: rate, cause: breakingCause(result, false) };
        context.log(`breaking point at ${target} connections: ${breakingPoint.cause}`);
        break;
      }
    }
  } finally {
    current = null;
    await pool.close();
    for (const cleanup of cleanups) await cleanup();
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
  ],
  configFrom(options) {
    return {
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
  tables: (results) => withCommonSections(results, rampSections(results)),
  measuringMs: (config) => config.steps.length * Math.max(config.holdMs, (config.messages / config.ratePerS) * 1000),
  run,
};
