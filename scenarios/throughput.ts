import { InvalidArgumentError } from 'commander';
import { parseThreshold, holds, type Threshold } from '../analysis/thresholds.js';
import { encodeHistogram, latencyStats } from '../core/histogram.js';
import type { MessageCounts } from '../core/result.js';
import { addCounts, addErrors, aggregateResult, emptyCounts, errorsSince } from '../load/aggregate.js';
import { duration, integer } from '../run/options.js';
import { preflight } from '../run/preflight.js';
import type { Recorder } from '../load/recorder.js';
import { SentCounter } from '../load/sent-counter.js';
import type { Scenario, ScenarioContext } from '../run/scenario.js';
import { type Round, loadRequest, measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { stepPlan } from './ramp-step.js';
import { type StepHealth, stepHealth } from './step-health.js';
import { type Ceiling, measureCeiling } from './ceiling.js';
import { withCommonSections } from './tables.js';
import { type ThroughputStep, throughputSections } from './throughput-tables.js';

/**
 * `rtbench throughput`: the most messages per second a transport delivers within a latency target.
 * Subscribers are held in rooms while the publish rate rises step by step (open loop, as
 * everywhere), until a step breaks the SLO, loses anything, or the generator saturates; the result
 * is the highest rate that held, and what stopped the next one.
 */
export interface ThroughputConfig {
  readonly subscribers: number;
  readonly rooms: number;
  /** Total publish rates to try, messages per second over all rooms, never decreasing. */
  readonly ratesPerS: readonly number[];
  readonly stepMs: number;
  readonly slo: Threshold;
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly payloadBytes: number;
  readonly deadlineMs: number;
  /** Measure the generator's own ceiling against the null server after the rates (`--no-ceiling`: not). */
  readonly ceiling: boolean;
}

/** A server this busy (of one core) at a failing step is named as the likely cause. */
const SERVER_BUSY_PCT = 85;
/** Below this share of a step's messages accepted by the server, the rate was not offered. */
const OFFERED_SHARE = 0.98;
/** A knee that delivers this share of the generator's own ceiling or more may be rtbench's. */
export const CEILING_SHARE = 0.7;

/** What the ceiling says of the knee, or null when it says nothing (not measured, or far above the knee). */
export function kneeAgainstCeiling(sustainedDeliveredPerS: number | null, ceiling: Ceiling | null): string | null {
  if (ceiling === null || sustainedDeliveredPerS === null || ceiling.deliveredPerS === null) return null;
  const share = sustainedDeliveredPerS / ceiling.deliveredPerS;
  if (share < CEILING_SHARE) return null;
  return `possibly rtbench's limit: the rate held delivered ${sustainedDeliveredPerS}/s, ${Math.round(share * 100)}% of what rtbench itself read against the null server (${ceiling.deliveredPerS}/s${ceiling.limitedBy === 'null server' ? ' or more' : ''})`;
}

/**
 * Rates never decrease; one given twice in a row is run twice, so the first can serve as a warm-up
 * (both sides compile their hot code and grow their heaps in the first seconds at a rate).
 */
function parseRates(text: string): number[] {
  const rates = text.split(',').map((part) => Number(part.trim()));
  const valid = rates.length > 0 && rates.every((n, i) => Number.isFinite(n) && n > 0 && n <= 1_000_000 && (i === 0 || n >= (rates[i - 1] as number)));
  if (!valid) throw new InvalidArgumentError('expected rates in messages per second, greater than 0, comma-separated and never decreasing, e.g. 10,50,100,250,500,1000,2000 (a rate given twice is run twice, the first as a warm-up).');
  return rates;
}

function parseSlo(text: string): Threshold {
  const slo = parseThreshold(text);
  if (slo.transport !== null) throw new InvalidArgumentError(`'${text}': an SLO applies to every transport; drop '${slo.transport}:'.`);
  if (!/^(p50|p90|p95|p99|p999|max|mean|perMessage\.\w+|fanOutSpread\.\w+|burstCompletion\.\w+)$/.test(slo.metric)) {
    throw new InvalidArgumentError(`'${text}': an SLO is on latency (p99, p999, perMessage.p99, fanOutSpread.p99, ...); loss is always checked.`);
  }
  return slo;
}

/** The SLO's latency for one step, in µs. */
function sloValue(slo: Threshold, latency: { perMessage: ReturnType<typeof latencyStats>; fanOutSpread: ReturnType<typeof latencyStats> }): number | null {
  const [kind, stat] = slo.metric.includes('.') ? (slo.metric.split('.') as [string, string]) : ['perMessage', slo.metric];
  const stats = kind === 'fanOutSpread' ? latency.fanOutSpread : latency.perMessage;
  return (stats as unknown as Record<string, number | null>)[stat] ?? null;
}

const publishFailuresOf = (round: Round): number => Object.values(round.publish.errors).reduce((a, b) => a + b, 0);

/**
 * A rate's row and whether it held: nothing lost, every publish accepted, the SLO kept, and the rate
 * actually offered. When it did not, the causes say so, and name the generator or a busy server
 * where either may be why.
 */
export function throughputStep(config: Pick<ThroughputConfig, 'slo'>, at: { step: number; ratePerS: number; attempt: number; planned: number; windowS: number }, round: Round, health: StepHealth): ThroughputStep {
  const messages: MessageCounts = round.merged.messages;
  const perMessage = latencyStats(round.merged.perMessage);
  const fanOutSpread = latencyStats(round.merged.fanOutSpread);
  const accepted = round.publish.latencyUs.publishRtt.count;
  const sloUs = sloValue(config.slo, { perMessage, fanOutSpread });
  const causes: string[] = [];
  if (messages.lost > 0) causes.push(`${messages.lost} of ${messages.expected} deliveries lost`);
  const publishFailures = publishFailuresOf(round);
  if (publishFailures > 0) causes.push(`${publishFailures} publishes failed (${Object.keys(round.publish.errors).join(', ')})`);
  if (sloUs === null || !holds(sloUs, config.slo.operator, config.slo.limit)) causes.push(`SLO ${config.slo.text} broken: ${sloUs === null ? 'nothing measured' : `${(sloUs / 1000).toFixed(1)} ms`}`);
  // The publisher could not keep the rate: the server was not offered what the step claims.
  const achievedShare = accepted / Math.max(1, at.planned);
  if (publishFailures === 0 && achievedShare < OFFERED_SHARE) causes.push(`the publisher offered ${Math.round(achievedShare * 100)}% of this rate`);
  // rtbench's own delay and CPU can only make a rate look worse, never better: a flag alone fails
  // no step that held (it stays marked), but it may be why one that broke did.
  if (causes.length > 0 && health.generator.saturated) causes.push(`the generator could not offer or read this rate, so the limit may be rtbench's: ${health.generator.saturationReasons.join('; ')}`);
  if (causes.length > 0 && (health.server.cpuPctMax ?? 0) >= SERVER_BUSY_PCT) causes.push(`the server was busy (CPU up to ${health.server.cpuPctMax}% of one core)`);
  return {
    step: at.step,
    offeredPerS: at.ratePerS,
    attempt: at.attempt,
    planned: at.planned,
    achievedPublishPerS: Math.round(accepted / at.windowS),
    deliveredPerS: Math.round(messages.received / at.windowS),
    messages,
    latencyUs: { perMessage, fanOutSpread, publishRtt: round.publish.latencyUs.publishRtt, sendLag: round.publish.latencyUs.sendLag },
    server: health.server,
    generator: health.generator,
    passed: causes.length === 0,
    causes,
  };
}

async function run(context: ScenarioContext, config: ThroughputConfig): Promise<void> {
  const provisioned = await context.target.provision({ rooms: config.rooms, subscriberRooms: roomsOf(config.subscribers, config.rooms), tag: '' });
  const pool = startPool(context, config.workers, provisioned);
  const publisher = context.target.publisher(provisioned);
  const steps: ThroughputStep[] = [];
  const histograms: string[] = [];
  const publishHistograms: Record<'publishRtt' | 'sendLag', string[]> = { publishRtt: [], sendLag: [] };
  const totals = emptyCounts();
  const errors: Record<string, number> = {};
  const heldPerRoom = new Map<number, number>();
  let current: { step: number; recorder: Recorder } | null = null;
  const sent = new SentCounter();
  /** What subscribers' profiles sent so far (joins, pongs), read at the end of each step. */
  let sends = 0;
  let stopped: { rate: number; causes: string[] } | null = null;
  let ceiling: Ceiling | null = null;

  context.observe({
    subscribers: config.subscribers,
    generatorThreads: config.workers + 1,
    ownDelay: () => pool.ownDelay,
    live: () => ({ connections: pool.live().connected, sent: sent.total, received: pool.live().arrivals, measuring: current !== null, step: current?.step ?? null }),
    measured: () => ({ result: aggregateResult(totals, { perMessage: histograms, ...publishHistograms }, errors), reconnects: 0, gaps: 0, sends }),
    details: () => {
      const passed = steps.filter((s) => s.passed);
      const sustained = passed.at(-1)?.offeredPerS ?? null;
      const knee = kneeAgainstCeiling(passed.at(-1)?.deliveredPerS ?? null, ceiling);
      const verdict = stopped
        ? `held ${sustained === null ? 'no rate' : `${sustained} messages/s`}; ${stopped.rate}/s failed: ${stopped.causes.join('; ')}`
        : new Set(passed.map((s) => s.offeredPerS)).size === new Set(config.ratesPerS).size
          ? `every rate held, up to ${sustained}/s (try higher --rates)`
          : 'stopped before the last rate';
      return {
        scenario: 'throughput',
        steps,
        slo: config.slo.text,
        sustainedRatePerS: sustained,
        stoppedAt: stopped,
        ceiling,
        kneeMayBeRtbench: knee !== null,
        verdict: knee ? `${verdict}; ${knee}` : verdict,
      };
    },
    saturationReasons: () => steps.flatMap((s) => s.generator.saturationReasons.map((r) => `${s.offeredPerS}/s: ${r}`)),
  });

  try {
    context.log(`connecting ${config.subscribers} subscribers in ${config.rooms} room(s) over ${config.workers} workers`);
    const connect = await pool.connect(subscriberSpecs(0, config.subscribers, config.rooms), config.connectConcurrency);
    for (const [room, n] of Object.entries(connect.okByRoom)) heldPerRoom.set(Number(room), n);
    addErrors(errors, connect.failed, 'connect:');
    await warmUp(context, pool, publisher, { rooms: config.rooms, payloadBytes: config.payloadBytes, expected: connect.ok });
    let step = 0;
    const queue = config.ratesPerS.map((ratePerS) => ({ ratePerS, attempt: 1 }));
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (context.signal.aborted) break;
      const { ratePerS, attempt } = next;
      step++;
      const durationS = config.stepMs / 1000;
      // Every room gets the same share; rooms are staggered within each interval.
      const perRoom = Math.max(1, Math.round((ratePerS * durationS) / config.rooms));
      const plan = stepPlan(perRoom, ratePerS / config.rooms, config.rooms);
      const before = await pool.status();
      context.log(`${ratePerS}/s: ${plan.length} messages to ${config.rooms} room(s) over ${durationS} s`);
      const round = await measureRound(context, pool, publisher, {
        plan,
        deadlineMs: config.deadlineMs,
        payloadBytes: config.payloadBytes,
        audience: (room) => heldPerRoom.get(room) ?? 0,
        onStart: (recorder) => {
          current = { step, recorder };
          sent.follow(recorder);
          pool.takeHealth();
        },
      });
      await context.sampleNow();
      current = null;
      const health = stepHealth(context.samples(), step, config.workers, round.publish.latencyUs.sendLag.p99, pool.takeHealth(), round.merged);
      const after = await pool.status();
      sends = after.sends;
      const result = throughputStep(config, { step, ratePerS, attempt, planned: plan.length, windowS: ((plan.at(-1)?.offsetUs ?? 0) / 1e6) || config.stepMs / 1000 }, round, health);
      const { messages, causes } = result;
      const perMessage = result.latencyUs.perMessage;
      steps.push(result);
      addCounts(totals, messages);
      addErrors(errors, { ...round.publish.errors, ...errorsSince(after.errors, before.errors, 'subscriber:') });
      histograms.push(encodeHistogram(round.merged.perMessage));
      publishHistograms.publishRtt.push(round.publish.histograms.publishRtt);
      publishHistograms.sendLag.push(round.publish.histograms.sendLag);
      context.log(`${ratePerS}/s: delivered ${result.deliveredPerS}/s, p99 ${((perMessage.p99 ?? 0) / 1000).toFixed(1)} ms, lost ${messages.lost}${result.passed ? '' : ` -> ${causes.join('; ')}`}`);
      await context.checkpoint();
      if (result.passed) continue;
      // One stall of a shared machine can flag the generator for a whole short step. A rate whose
      // only fault may be rtbench's (nothing lost, every publish accepted) is tried once more
      // before it is called the limit; both attempts stay in the steps.
      if (attempt === 1 && health.generator.saturated && messages.lost === 0 && publishFailuresOf(round) === 0) {
        context.log(`${ratePerS}/s: the generator was flagged; trying this rate once more before calling it the limit`);
        queue.unshift({ ratePerS, attempt: 2 });
        continue;
      }
      stopped = { rate: ratePerS, causes: [...causes] };
      break;
    }
  } finally {
    current = null;
    await pool.close();
    await publisher.close();
  }
  if (!config.ceiling || context.signal.aborted) return;
  context.log("the generator's own ceiling on this machine, against the null server (--no-ceiling skips it)");
  ceiling = await measureCeiling(context, { subscribers: config.subscribers, rooms: config.rooms, workers: config.workers, connectConcurrency: config.connectConcurrency, payloadBytes: config.payloadBytes, firstRatePerS: config.ratesPerS[0] ?? 10 });
  context.log(`ceiling: rtbench read ${ceiling.deliveredPerS ?? 'nothing held'}${ceiling.deliveredPerS === null ? '' : ' deliveries/s'} (${ceiling.limitedBy}: ${ceiling.why}); published alone at up to ${ceiling.publishPerS ?? '-'}/s on schedule`);
}

export const throughputScenario: Scenario<ThroughputConfig> = {
  name: 'throughput',
  summary: 'raise the publish rate step by step: the most messages per second each transport delivers within a latency SLO, and what stopped it',
  agents: true,
  options: [
    { flags: '-s, --subscribers <count>', description: 'subscribers held for the whole run', parse: integer(1, 100_000), defaultValue: 1000 },
    { flags: '--rooms <count>', description: 'rooms the subscribers and messages are spread over', parse: integer(1, 10_000), defaultValue: 10 },
    { flags: '--rates <per-second>', description: 'total publish rates to try, messages per second over all rooms, comma-separated, never decreasing (a rate given twice runs twice: a warm-up, then the measured step)', parse: parseRates, defaultValue: [10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000], defaultLabel: '10,50,100,250,500,1000,2000,5000,10000' },
    { flags: '--step <duration>', description: 'how long each rate is published', parse: duration(1000, 600_000), defaultValue: 5000, defaultLabel: '5s' },
    { flags: '--slo <expression>', description: 'the latency a rate must hold (and nothing may be lost), e.g. p99<100ms, p999<1s', parse: parseSlo, defaultValue: parseThreshold('p99<100ms'), defaultLabel: 'p99<100ms' },
    { flags: '--workers <count>', description: 'subscriber worker threads', parse: integer(1, 64), defaultValue: 2 },
    { flags: '--connect-concurrency <count>', description: 'connections being opened at once, over all workers', parse: integer(1, 10_000), defaultValue: 100 },
    { flags: '--payload-bytes <bytes>', description: 'content length; the marker (about 40 bytes) is padded up to it', parse: integer(0, 10_000), defaultValue: 0, defaultLabel: 'marker only' },
    { flags: '--no-ceiling', description: "skip the generator's own ceiling (the same subscribers against the null server, after the rates), against which a knee is judged" },
  ],
  configFrom(options) {
    return {
      subscribers: options.subscribers as number,
      rooms: options.rooms as number,
      ratesPerS: options.rates as number[],
      stepMs: options.step as number,
      slo: options.slo as Threshold,
      workers: options.workers as number,
      connectConcurrency: options.connectConcurrency as number,
      payloadBytes: options.payloadBytes as number,
      deadlineMs: options.deadline as number,
      ceiling: options.ceiling !== false,
    };
  },
  // A rate that cannot keep up must not be waited for 10 s per message.
  commonDefaults: { deadline: 5000 },
  preflight: (config, common) => preflight(loadRequest(config.subscribers, common, false)),
  run,
  tables: (results) => withCommonSections(results, throughputSections(results)),
  // Every rate, if none breaks; the ceiling that follows is not counted.
  measuringMs: (config) => config.ratesPerS.length * config.stepMs,
};
