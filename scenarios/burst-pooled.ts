import { type Histogram, encodeHistogram, latencyStats, mergeEncoded } from '../core/histogram.js';
import { RtbError } from '../core/errors.js';
import { NO_OWN_DELAY } from '../core/own-delay.js';
import { LATENCY_KINDS, type LatencyKind, type RecorderResult } from '../core/result.js';
import { Recorder } from '../load/recorder.js';
import type { ScenarioContext } from '../run/scenario.js';
import type { PublishChannel } from '../targets/types.js';
import type { SubscriberPool } from '../load/worker/pool.js';
import { measureRound, startPool, subscriberSpecs, warmUp, type Round } from './pool-run.js';
import type { PlannedMessage } from '../load/recorder.js';
import { SentCounter } from '../load/sent-counter.js';

/** What a pooled burst needs of the burst's configuration (burst.ts's BurstConfig has it all). */
export interface PooledBurstConfig {
  readonly subscribers: number;
  readonly bursts: number;
  readonly burstSize: number;
  readonly payloadBytes: number;
  readonly deadlineMs: number;
}

/** One subscriber thread here; each agent holds as many. */
const LOCAL_THREADS = 1;

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
 * `rtbench burst --agents N`: the same room, schedule and tables, with the subscribers held in
 * subscriber threads (one here, one on each agent) instead of rtbench's own thread, so agents can
 * take a share. Every subscriber must connect and warm up, as in a one-thread burst.
 */
export async function runPooledBurst(context: ScenarioContext, config: PooledBurstConfig, plan: readonly PlannedMessage[]): Promise<void> {
  let pool: SubscriberPool | null = null;
  let publisher: PublishChannel | null = null;
  let result: RecorderResult | null = null;
  let held = 0;
  let measuring = false;
  let status = { reconnects: 0, gaps: 0, sends: 0 };
  const sent = new SentCounter();
  context.observe({
    subscribers: config.subscribers,
    details: () => ({ scenario: 'burst' }),
    generatorThreads: LOCAL_THREADS + 1,
    ownDelay: () => pool?.ownDelay ?? NO_OWN_DELAY,
    live: () => ({ connections: pool?.live().connected ?? 0, sent: sent.total, received: pool?.live().arrivals ?? 0, measuring }),
    measured: () => ({ result: result ?? new Recorder({ runId: context.runId, plan: [], deadlineUs: 1 }).result(0), ...status }),
  });
  try {
    const provisioned = await context.target.provision({ rooms: 1, subscriberRooms: new Array<number>(config.subscribers).fill(0), tag: '' });
    publisher = context.target.publisher(provisioned);
    pool = startPool(context, LOCAL_THREADS, provisioned);
    context.log(`connecting ${config.subscribers} subscribers to one room over ${pool.size} subscriber threads (agents included)`);
    const connect = await pool.connect(subscriberSpecs(0, config.subscribers, 1), 100);
    held = connect.ok;
    if (held < config.subscribers) {
      throw new RtbError('RTB_ERR_NOT_READY', `${config.subscribers - held} of ${config.subscribers} ${context.transport} subscribers could not connect (${JSON.stringify(connect.failed)})`);
    }
    await warmUp(context, pool, publisher, { rooms: 1, payloadBytes: config.payloadBytes, expected: held });
    context.log(`publishing ${config.bursts} bursts of ${config.burstSize} (${plan.length} messages)`);
    measuring = true;
    const round = await measureRound(context, pool, publisher, { plan, deadlineMs: config.deadlineMs, payloadBytes: config.payloadBytes, audience: () => held, onStart: (recorder) => sent.follow(recorder) });
    measuring = false;
    result = pooledResult(round);
    const { reconnects, gaps, sends } = await pool.status();
    status = { reconnects, gaps, sends };
  } finally {
    await pool?.close();
    await publisher?.close();
  }
}
