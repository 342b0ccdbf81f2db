import { nowUs } from '../core/clock.js';
import { OwnDelayMeter } from '../core/own-delay.js';
import { ownWaitUs } from '../clients/read-turns.js';
import { integer, duration } from '../run/options.js';
import { WARMUP_GROUP, encodeMarker } from '../core/marker.js';
import { publishOnSchedule, type ScheduledSend } from '../load/publisher.js';
import { type PlannedMessage, Recorder } from '../load/recorder.js';
import { RtbError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import type { Subscription } from '../clients/types.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import type { PublishChannel } from '../targets/types.js';
import { withCommonSections } from './tables.js';
import { runPooledBurst } from './burst-pooled.js';
import { warmUpOutcome } from './pool-run.js';

export interface BurstConfig {
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

const WARMUP_INTERVAL_MS = 20;
/** Lead time between building the schedule and its first send, so the first burst is not late. */
const START_LEAD_US = 100_000;

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

async function connectAll(context: ScenarioContext, config: BurstConfig, provisioned: unknown, recorder: Recorder, ownDelay: OwnDelayMeter): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  for (let index = 0; index < config.subscribers; index++) {
    subscriptions.push(
      context.client.subscribe(context.clientContext, context.target.spec(provisioned, { index, room: 0 }) as never, {
        onMessage: (content, receivedUs) => {
          const latencyUs = recorder.recordArrival(index, content, receivedUs);
          if (recorder.measuring) ownDelay.note(ownWaitUs(receivedUs), latencyUs);
        },
        onError: (code) => recorder.countError(`subscriber:${code}`),
      }),
    );
  }
  const settled = await Promise.allSettled(subscriptions.map((s) => s.ready));
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failures.length > 0) {
    await Promise.all(subscriptions.map((s) => s.close()));
    const reason = (failures[0]?.reason as Error | undefined)?.message ?? 'unknown';
    throw new RtbError('RTB_ERR_NOT_READY', `${failures.length} of ${config.subscribers} ${context.transport} subscribers could not connect (${reason})`);
  }
  return subscriptions;
}

/**
 * Publishes warm-up messages until every subscriber has received one: the only proof, for every
 * transport alike, that a subscription is live (a held long poll gives no other sign).
 */
async function warmUp(context: ScenarioContext, config: BurstConfig, publisher: PublishChannel, recorder: Recorder): Promise<void> {
  const limitMs = Math.max(config.connectTimeoutMs, 5000);
  const deadline = Date.now() + limitMs;
  for (let sent = 0; !context.signal.aborted; sent++) {
    if (sent >= config.warmupMessages && recorder.warmedUpSubscribers === config.subscribers) return;
    if (Date.now() > deadline) {
      const arrived = recorder.whatElseArrived();
      throw new RtbError(
        'RTB_ERR_NOT_READY',
        `${config.subscribers - recorder.warmedUpSubscribers} of ${config.subscribers} ${context.transport} subscribers received no warm-up message within ${limitMs / 1000} s${warmUpOutcome(arrived ? [arrived] : [], recorder.foreignArrived(), context.target.profile.name)}`,
      );
    }
    const content = encodeMarker({ runId: context.runId, seq: sent, group: WARMUP_GROUP, scheduledUs: nowUs() }, config.payloadBytes);
    const outcome = await publisher.publish(0, content);
    if (outcome.errorCode) throw new RtbError('RTB_ERR_NOT_READY', `warm-up publish failed: ${outcome.errorCode}`);
    await sleep(WARMUP_INTERVAL_MS, context.signal);
  }
}

async function run(context: ScenarioContext, config: BurstConfig): Promise<void> {
  const plan = burstPlan(config);
  // With agents the subscribers live in subscriber threads, here and on each agent.
  if (context.agents) return runPooledBurst(context, config, plan);
  const recorder = new Recorder({ runId: context.runId, subscriberCount: config.subscribers, plan, deadlineUs: config.deadlineMs * 1000 });
  let subscriptions: Subscription[] = [];
  let publisher: PublishChannel | null = null;
  const ownDelay = new OwnDelayMeter();
  context.observe({
    subscribers: config.subscribers,
    details: () => ({ scenario: 'burst' }),
    ownDelay: () => ownDelay.snapshot(),
    live: () => ({
      connections: subscriptions.reduce((n, s) => n + (s.stats().connected ? 1 : 0), 0),
      sent: recorder.attemptedMessages,
      received: recorder.arrivals,
      measuring: recorder.measuring,
    }),
    measured: () => {
      const stats = subscriptions.map((s) => s.stats());
      return {
        result: recorder.result(nowUs()),
        reconnects: stats.reduce((n, s) => n + s.reconnects, 0),
        gaps: stats.reduce((n, s) => n + s.gaps, 0),
        sends: stats.reduce((n, s) => n + s.sends, 0),
      };
    },
  });
  try {
    // Untimed: users, tokens and rooms the target needs, before anything is measured.
    const provisioned = await context.target.provision({ rooms: 1, subscriberRooms: new Array<number>(config.subscribers).fill(0), tag: '' });
    publisher = context.target.publisher(provisioned);
    context.log(`connecting ${config.subscribers} subscribers to one room`);
    subscriptions = await connectAll(context, config, provisioned, recorder, ownDelay);
    await warmUp(context, config, publisher, recorder);

    const startUs = nowUs() + START_LEAD_US;
    recorder.begin(startUs);
    const schedule: ScheduledSend[] = plan.map((m) => ({
      seq: m.seq,
      room: 0,
      scheduledUs: startUs + m.offsetUs,
      content: encodeMarker({ runId: context.runId, seq: m.seq, group: m.group, scheduledUs: startUs + m.offsetUs }, config.payloadBytes),
    }));
    const lastSendUs = startUs + (plan.at(-1)?.offsetUs ?? 0);
    const lastDueUs = lastSendUs + config.deadlineMs * 1000;
    context.log(`publishing ${config.bursts} bursts of ${config.burstSize} (${plan.length} messages) over ${((lastSendUs - nowUs()) / 1e6).toFixed(1)} s`);

    const expectedArrivals = plan.length * config.subscribers;
    const progress = setInterval(() => {
      context.progress(`${context.transport}: sent ${recorder.attemptedMessages}/${plan.length}, received ${recorder.receivedInTime}/${expectedArrivals}`);
    }, 250);
    try {
      await publishOnSchedule(
        publisher,
        schedule,
        {
          onSendStart: (seq, actualUs) => recorder.recordSendStart(seq, actualUs),
          onSendDone: (_seq, rttUs, errorCode) => recorder.recordPublishDone(rttUs, errorCode),
        },
        context.signal,
      );
      // Drain: until every message has arrived everywhere, or the last one's deadline has passed.
      const drained = new AbortController();
      const stop = AbortSignal.any([context.signal, drained.signal]);
      await Promise.race([recorder.waitFor(() => recorder.complete, stop), sleep(Math.max(0, (lastDueUs - nowUs()) / 1000), stop)]);
      drained.abort();
    } finally {
      clearInterval(progress);
      recorder.end();
    }
  } finally {
    await Promise.all(subscriptions.map((s) => s.close()));
    await publisher?.close();
  }
}

export const burstScenario: Scenario<BurstConfig> = {
  name: 'burst',
  summary: "the original study's burst-latency test: N subscribers in one room, bursts of messages sent on a fixed open-loop schedule",
  agents: true,
  stampsOnMainThread: true,
  options: [
    { flags: '-s, --subscribers <count>', description: 'subscribers in the room', parse: integer(1, 100_000), defaultValue: 10 },
    { flags: '-b, --bursts <count>', description: 'bursts to send', parse: integer(1, 1_000_000), defaultValue: 200 },
    { flags: '--burst-size <count>', description: 'messages per burst', parse: integer(1, 10_000), defaultValue: 3 },
    { flags: '--gap <duration>', description: 'between two messages of a burst', parse: duration(0, 3_600_000), defaultValue: 50, defaultLabel: '50ms' },
    { flags: '--pause <duration>', description: 'from the last message of a burst to the first of the next', parse: duration(0, 3_600_000), defaultValue: 100, defaultLabel: '100ms' },
    { flags: '--payload-bytes <bytes>', description: 'content length; the marker (about 40 bytes) is padded up to it', parse: integer(0, 10_000), defaultValue: 0, defaultLabel: 'marker only' },
    { flags: '--warmup <count>', description: 'warm-up messages before measuring (never counted)', parse: integer(1, 10_000), defaultValue: 10 },
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
    };
  },
  run,
  tables: (results) => withCommonSections(results, []),
  measuringMs: (config) => config.bursts * ((config.burstSize - 1) * config.gapMs + config.pauseMs),
};
