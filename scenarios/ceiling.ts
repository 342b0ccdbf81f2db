import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { latencyStats } from '../core/histogram.js';
import { ownDelayQuantileUs } from '../core/own-delay.js';
import { nowUs } from '../core/clock.js';
import { ownDelayReason, saturation } from '../engine/saturation.js';
import { type PublishStep, publishCeiling } from '../engine/publish-ceiling.js';
import type { ScenarioContext } from '../engine/scenario.js';
import { measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { stepPlan } from './ramp-step.js';
import { WORKER_UTILIZATION_LIMIT } from './step-health.js';

/**
 * The generator's own ceiling on this machine: the same subscribers, rooms and worker threads as the
 * run, against the null server (servers/null-server.ts), which does the least a server can per
 * delivery, at a rate doubled every short step until the generator is flagged or something is lost.
 * A throughput knee near it may be rtbench's, not the server's. Then publishing alone, without
 * subscribers: the highest rate the publisher offers on schedule.
 */
export interface CeilingStep {
  readonly offeredPerS: number;
  readonly deliveredPerS: number;
  readonly lost: number;
  readonly generatorCpuPct: number | null;
  readonly nullServerCpuPct: number | null;
  readonly sendLagP99Us: number | null;
  readonly held: boolean;
  /** Why the step did not hold, empty when it did. */
  readonly causes: readonly string[];
}

export interface Ceiling {
  /** Deliveries a second rtbench read at the highest rate it held (null: not even the first). */
  readonly deliveredPerS: number | null;
  readonly offeredPerS: number | null;
  /** What stopped the search: the generator, the null server (then the ceiling is at least this), or the last rate tried. */
  readonly limitedBy: 'generator' | 'null server' | 'rates';
  readonly why: string;
  /** Publishes a second the publisher offered alone on schedule (engine/publish-ceiling.ts; null: not even the first rate). */
  readonly publishPerS: number | null;
  readonly publishSteps: readonly PublishStep[];
  readonly steps: readonly CeilingStep[];
}

export interface CeilingConfig {
  readonly subscribers: number;
  readonly rooms: number;
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly payloadBytes: number;
  readonly firstRatePerS: number;
}

const STEP_S = 1.5;
const MAX_STEPS = 14;
/** The null server this busy (of one core) at the stopping step may have stopped it first. */
const NULL_SERVER_BUSY_PCT = 85;

/** CPU time of another process so far (ms), from /proc; null where it cannot be read. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of proc(5)), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** CPU % of one core used by this process and by `pid` while `work` runs. */
async function cpuDuring<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; generatorPct: number; serverPct: number | null }> {
  const startUs = nowUs();
  const own = process.cpuUsage();
  const server = processCpuMs(pid);
  const value = await work();
  const wallMs = (nowUs() - startUs) / 1000;
  const used = process.cpuUsage(own);
  const serverNow = processCpuMs(pid);
  return {
    value,
    generatorPct: Math.round(((used.user + used.system) / 1000 / wallMs) * 100),
    serverPct: server === null || serverNow === null ? null : Math.round(((serverNow - server) / wallMs) * 100),
  };
}

export async function measureCeiling(context: ScenarioContext, config: CeilingConfig): Promise<Ceiling> {
  const floor = await context.nullTarget();
  const target = floor.target;
  const provisioned = await target.provision({ rooms: config.rooms, subscriberRooms: roomsOf(config.subscribers, config.rooms), tag: '-ceiling' });
  // This process's threads only: the ceiling is of this machine, not of the agents.
  const pool = startPool({ ...context, agents: null }, config.workers, provisioned, target);
  const publisher = target.publisher(provisioned);
  const steps: CeilingStep[] = [];
  const usableCores = Math.min(config.workers + 1, availableParallelism());
  let limitedBy: Ceiling['limitedBy'] = 'rates';
  let why = `every rate up to ${Math.round(config.firstRatePerS * 2 ** (MAX_STEPS - 1))}/s held`;
  try {
    const connect = await pool.connect(subscriberSpecs(0, config.subscribers, config.rooms), config.connectConcurrency);
    await warmUp(context, pool, publisher, config.rooms, config.payloadBytes, connect.ok);
    const heldPerRoom = new Map(Object.entries(connect.okByRoom).map(([room, n]) => [Number(room), n]));
    for (let k = 0; k < MAX_STEPS && !context.signal.aborted; k++) {
      const ratePerS = config.firstRatePerS * 2 ** k;
      const perRoom = Math.max(1, Math.round((ratePerS * STEP_S) / config.rooms));
      const plan = stepPlan(perRoom, ratePerS / config.rooms, config.rooms);
      pool.takeHealth();
      const { value: round, generatorPct, serverPct } = await cpuDuring(floor.pid, () =>
        measureRound(context, pool, publisher, { plan, deadlineMs: 5000, payloadBytes: config.payloadBytes, audience: (room) => heldPerRoom.get(room) ?? 0 }),
      );
      const threads = pool.takeHealth();
      const windowS = ((plan.at(-1)?.offsetUs ?? 0) / 1e6) || STEP_S;
      const { messages } = round.merged;
      const sendLagP99Us = round.publish.latencyUs.sendLag.p99;
      const ownUs = ownDelayQuantileUs(round.merged.ownDelay, 0.99);
      const reasons = saturation({ cpuPctAvg: generatorPct, cpuPctMax: generatorPct, rssBytesMax: null }, null, { lagP99Us: sendLagP99Us, latencyP99Us: latencyStats(round.merged.perMessage).p99 }, null, usableCores).reasons;
      const own = ownUs === null ? null : ownDelayReason({ boundUs: ownUs, p99Us: latencyStats(round.merged.perMessage).p99 }, 'a subscriber worker');
      if (own) reasons.push(own);
      if (threads.utilizationMax > WORKER_UTILIZATION_LIMIT) reasons.push(`a subscriber worker thread was ${Math.round(threads.utilizationMax * 100)}% busy`);
      const causes = [...(messages.lost > 0 ? [`${messages.lost} of ${messages.expected} deliveries lost`] : []), ...reasons];
      steps.push({ offeredPerS: ratePerS, deliveredPerS: Math.round(messages.received / windowS), lost: messages.lost, generatorCpuPct: generatorPct, nullServerCpuPct: serverPct, sendLagP99Us, held: causes.length === 0, causes });
      context.log(`ceiling ${ratePerS}/s: rtbench read ${Math.round(messages.received / windowS)}/s, its CPU ${generatorPct}%, the null server's ${serverPct ?? '-'}%${causes.length > 0 ? ` -> ${causes.join('; ')}` : ''}`);
      if (causes.length === 0) continue;
      limitedBy = (serverPct ?? 0) >= NULL_SERVER_BUSY_PCT && reasons.length === 0 ? 'null server' : 'generator';
      why = `${ratePerS}/s: ${causes.join('; ')}${limitedBy === 'null server' ? ` while the null server was ${serverPct}% busy: the generator's ceiling is at least the last rate held` : ''}`;
      break;
    }
  } finally {
    await pool.close();
    await publisher.close();
  }
  const held = steps.filter((s) => s.held).at(-1) ?? null;
  const channel = floor.target.publisher(await floor.target.provision({ rooms: 1, subscriberRooms: [], tag: '-publish' }));
  const publishSteps = await publishCeiling(channel, context.signal, { log: (line) => context.log(`ceiling: ${line}`) }).finally(() => channel.close());
  return {
    deliveredPerS: held?.deliveredPerS ?? null,
    offeredPerS: held?.offeredPerS ?? null,
    limitedBy,
    why,
    publishPerS: publishSteps.filter((s) => s.held).at(-1)?.offeredPerS ?? null,
    publishSteps,
    steps,
  };
}

