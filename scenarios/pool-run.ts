import { nowUs } from '../core/clock.js';
import { WARMUP_GROUP, WARMUP_ROUND_GROUP, encodeMarker } from '../core/marker.js';
import type { RecorderResult } from '../core/result.js';
import { sleep } from '../core/sleep.js';
import { RtbError } from '../core/errors.js';
import type { CommonConfig } from '../run/options.js';
import type { LoadRequest } from '../run/preflight.js';
import { publishOnSchedule } from '../load/publisher.js';
import { planSchedule } from '../load/send-schedule.js';
import { type PlannedMessage, Recorder } from '../load/recorder.js';
import type { ScenarioContext, TargetHandle } from '../run/scenario.js';
import { PUBLISH_CONNECTIONS } from '../run/target.js';
import { type MergedStep, SubscriberPool, mergeStep } from '../load/worker/pool.js';
import type { StepReply, SubscriberSpec, WorkerInit } from '../load/worker/protocol.js';
import type { PublishChannel } from '../targets/types.js';
import { stepPlan } from './ramp-step.js';
import { currentTlsTrust } from '../core/tls-trust.js';

/**
 * What ramp, soak and faults share: subscribers held in worker threads, a warm-up proof that every
 * held subscriber is live, and one measured round (plan, publish open loop, drain, merge the
 * workers' results).
 */
const WARMUP_LIMIT_MS = 30_000;
const START_LEAD_US = 200_000;

/** What a pool scenario asks of the machine, for the preflight. */
export function loadRequest(connections: number, common: CommonConfig, faultProxy: boolean): LoadRequest {
  const host = common.target ? new URL(common.target).hostname : '127.0.0.1';
  return {
    connections,
    extraSockets: PUBLISH_CONNECTIONS + 8,
    builtInServer: common.target === null,
    proxy: common.delayMs > 0 || faultProxy,
    loopback: host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1',
  };
}

/** Subscriber `index` is in room `index % rooms`. */
export function roomsOf(count: number, rooms: number): number[] {
  return Array.from({ length: count }, (_, index) => index % rooms);
}

/** The subscriber threads of one transport run, with what the target's profile provisioned for it; with `browser`, a thread of Chromium pages besides. */
export function startPool(context: ScenarioContext, workers: number, provisioned: unknown, target: TargetHandle = context.target, browser?: WorkerInit['browser']): SubscriberPool {
  const pool = SubscriberPool.start(workers, {
    transport: context.transport,
    profile: target.ref,
    target: target.context,
    provisioned,
    reconnect: context.reconnect,
    seed: context.seed,
    tlsTrust: currentTlsTrust(),
    localAddresses: context.machine?.localAddresses ?? [],
    runId: context.runId,
    deadlineUs: 0, // set per round by `measureRound`
  }, context.agents, browser);
  pool.onProtocols((protocols) => context.connectedOver(protocols));
  return pool;
}

/** Subscribers `from`..`to - 1`, dealt to rooms round-robin. */
export function subscriberSpecs(from: number, to: number, rooms: number): SubscriberSpec[] {
  const specs: SubscriberSpec[] = [];
  for (let index = from; index < to; index++) specs.push({ index, room: index % rooms });
  return specs;
}

/**
 * Once every subscriber has its warm-up message, a round of this many messages per room, this many
 * a second, is measured and thrown away: the measuring path (matching, histograms, the own-delay
 * meter, the publisher's schedule) is compiled and optimised by V8 there, not in the first step a
 * scenario reports, which it otherwise made look as if the generator were saturated.
 */
const WARMUP_ROUND_MESSAGES = 20;
const WARMUP_ROUND_RATE_PER_S = 50;

/** What arrived instead of the warm-up messages, pointing at the profile's `read()` only when messages did. */
export function warmUpOutcome(arrived: readonly string[], foreignArrived: boolean, profile: string): string {
  if (arrived.length === 0) return ': nothing at all arrived (is the subscription live? does the server push to it?)';
  if (!foreignArrived) return `; the subscriptions failed instead: ${arrived.join('; ')}`;
  return `; what arrived instead: ${arrived.join('; ')} (check profile ${profile}'s subscription read(): it must return each message's content exactly as published)`;
}

export interface WarmUpOptions {
  readonly rooms: number;
  readonly payloadBytes: number;
  /** Subscribers that must each receive a warm-up message. */
  readonly expected: number;
  /** Warm-up messages per room sent at least, even once every subscriber has one (burst's --warmup). */
  readonly atLeast?: number;
  /** How long every subscriber may take to get one (default 30 s). */
  readonly limitMs?: number;
  /** A subscriber without one fails the run (RTB_ERR_NOT_READY) instead of showing up as lost deliveries. */
  readonly required?: boolean;
}

/** Between the warm-up messages sent before every subscriber could have received the first. */
const WARMUP_GAP_MS = 20;

/**
 * One warm-up message per room at a time, until every held subscriber has received one (bounded),
 * then one measured round that is thrown away. Held subscribers that never get a message are left
 * to show up as lost deliveries, unless every one is `required`.
 */
export async function warmUp(context: ScenarioContext, pool: SubscriberPool, publisher: PublishChannel, options: WarmUpOptions): Promise<void> {
  const { rooms, payloadBytes, expected } = options;
  const limitMs = options.limitMs ?? WARMUP_LIMIT_MS;
  await pool.warmReset();
  const deadline = Date.now() + limitMs;
  for (let n = 0; !context.signal.aborted && Date.now() < deadline; n++) {
    const outcomes = await Promise.all(Array.from({ length: rooms }, (_, room) => publisher.publish(room, encodeMarker({ runId: context.runId, seq: n, group: WARMUP_GROUP, scheduledUs: nowUs() }, payloadBytes))));
    const failed = outcomes.find((outcome) => outcome.errorCode);
    if (failed && options.required) throw new RtbError('RTB_ERR_NOT_READY', `warm-up publish failed: ${failed.errorCode}`);
    if (n + 1 < (options.atLeast ?? 0)) {
      await sleep(WARMUP_GAP_MS, context.signal);
      continue;
    }
    const until = Math.min(deadline, Date.now() + 1000);
    while (Date.now() < until && !context.signal.aborted) {
      if ((await pool.warmStatus()).warmed >= expected) {
        const plan = stepPlan(WARMUP_ROUND_MESSAGES, WARMUP_ROUND_RATE_PER_S, rooms).map((message) => ({ ...message, group: WARMUP_ROUND_GROUP }));
        await measureRound(context, pool, publisher, { plan, deadlineMs: 2000, payloadBytes, audience: () => 0 });
        return;
      }
      await sleep(50, context.signal);
    }
  }
  const { warmed, foreign, firstForeign } = await pool.warmStatus();
  if (warmed >= expected || context.signal.aborted) return;
  const errors = Object.entries((await pool.status()).errors).map(([code, n]) => `${code} x${n}`);
  const arrived = [...(foreign ? [`${foreign} message(s) without this run's marker in their content, the first ${JSON.stringify(firstForeign)}`] : []), ...(errors.length ? [`errors ${errors.join(', ')}`] : [])];
  const missing = `${expected - warmed} of ${expected} ${context.transport} subscribers received no warm-up message within ${limitMs / 1000} s${warmUpOutcome(arrived, (foreign ?? 0) > 0, context.target.profile.name)}`;
  if (options.required) throw new RtbError('RTB_ERR_NOT_READY', missing);
  context.log(missing);
}

export interface RoundOptions {
  readonly plan: readonly PlannedMessage[];
  readonly deadlineMs: number;
  readonly payloadBytes: number;
  /** Subscribers held per room: the audience each room's messages are expected by. */
  readonly audience: (room: number) => number;
  /** The same for the browser threads' subscribers, merged apart (`Round.browser`). */
  readonly browserAudience?: (room: number) => number;
  /** Keep the subscriber threads awake up to each send (load/worker/keep-awake.ts): a sparse schedule's. */
  readonly keepAwake?: boolean;
  /** Called once the round's start time is fixed (for the scenario's live counters). */
  readonly onStart?: (publishRecorder: Recorder, startUs: number) => void;
}

export interface Round {
  /** The Node subscribers' step (every subscriber's, when there are no browser threads). */
  readonly merged: MergedStep;
  /** The browser threads' step, and their replies (for what the pages report); null without browser threads. */
  readonly browser: { readonly merged: MergedStep; readonly replies: readonly StepReply[] } | null;
  readonly publish: RecorderResult;
  readonly startUs: number;
}

/** Publishes one plan on schedule to held subscribers and waits until all arrived or the last deadline passed. */
export async function measureRound(context: ScenarioContext, pool: SubscriberPool, publisher: PublishChannel, options: RoundOptions): Promise<Round> {
  const { plan } = options;
  const publishRecorder = new Recorder({ runId: context.runId, plan, deadlineUs: options.deadlineMs * 1000 });
  const startUs = nowUs() + START_LEAD_US;
  publishRecorder.begin(startUs);
  await pool.measure(plan, startUs, options.deadlineMs * 1000, options.keepAwake === true);
  options.onStart?.(publishRecorder, startUs);
  const schedule = planSchedule(plan, startUs, (m, dueUs) => encodeMarker({ runId: context.runId, seq: m.seq, group: m.group, scheduledUs: dueUs }, options.payloadBytes));
  await publishOnSchedule(
    publisher,
    schedule,
    {
      onSendStart: (seq, actualUs) => publishRecorder.recordSendStart(seq, actualUs),
      onSendDone: (_seq, rttUs, errorCode) => publishRecorder.recordPublishDone(rttUs, errorCode),
    },
    context.signal,
    // Nothing is stamped on this thread (the subscribers are in worker threads or on agents), so it
    // may sleep before a send; when the workers are kept awake up to each send, it turns its loop
    // there as they do (the design measured in docs/architecture.md).
    { sleepBeforeSend: options.keepAwake !== true },
  );
  const lastDueUs = startUs + (plan.at(-1)?.offsetUs ?? 0) + options.deadlineMs * 1000;
  await Promise.race([pool.waitComplete(lastDueUs), sleep(Math.max(0, (lastDueUs - nowUs()) / 1000) + 1000, context.signal)]);
  const { node, browser } = pool.byKind(await pool.results(publishRecorder.attemptedSeqs()));
  return {
    merged: mergeStep(node, plan, options.audience, startUs),
    browser: browser.length > 0 ? { merged: mergeStep(browser, plan, options.browserAudience ?? (() => 0), startUs), replies: browser } : null,
    publish: publishRecorder.result(nowUs()),
    startUs,
  };
}
