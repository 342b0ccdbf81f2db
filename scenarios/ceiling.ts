import { availableParallelism } from 'node:os';
import { latencyStats } from '../core/histogram.js';
import { nowUs } from '../core/clock.js';
import { procStat } from '../core/proc-stat.js';
import { saturation } from '../load/saturation.js';
import { highestPublishRate, publishCeiling } from '../load/publish-ceiling.js';
import type { ScenarioContext } from '../run/scenario.js';
import { measureRound, roomsOf, startPool, subscriberSpecs, warmUp } from './pool-run.js';
import { stepPlan } from './ramp-step.js';
import { WORKER_UTILIZATION_LIMIT } from './step-health.js';
import type { CeilingStep, Ceiling } from '../core/details.js';
export type { CeilingStep, Ceiling } from '../core/details.js';



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
/** Against a server that adds almost no latency, a p99 above this means rtbench fell behind. */
const FALLING_BEHIND_US = 100_000;
/** The null server this busy (of one core) at the stopping step may have stopped it first. */
const NULL_SERVER_BUSY_PCT = 85;

/** CPU time of another process so far (ms), from /proc; null where it cannot be read. */
const processCpuMs = (pid: number): number | null => procStat(pid)?.cpuMs ?? null;

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
    await warmUp(context, pool, publisher, { rooms: config.rooms, payloadBytes: config.payloadBytes, expected: connect.ok });
    const heldPerRoom = new Map(Object.entries(connect.okByRoom).map(([room, n]) => [Number(room), n]));
    const tryRate = async (ratePerS: number): Promise<CeilingStep> => {
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
      // A matter of capacity, not of precision: the flags that weigh rtbench's delay against a p99
      // (own delay, send lag as a share) say how exact a latency is; here the question is whether
      // rtbench kept up at all: its CPU, its threads, its schedule, and a null server's latency.
      const p99Us = latencyStats(round.merged.perMessage).p99;
      const accepted = round.publish.latencyUs.publishRtt.count;
      // The schedule judged by its p90: a step of a few dozen sends has its one hiccup as its p99.
      const reasons = saturation({ cpuPctAvg: generatorPct, cpuPctMax: generatorPct, rssBytesMax: null }, null, { lagP99Us: round.publish.latencyUs.sendLag.p90, quantile: 'p90', latencyP99Us: null }, null, usableCores).reasons;
      if (threads.utilizationMax > WORKER_UTILIZATION_LIMIT) reasons.push(`a subscriber worker thread was ${Math.round(threads.utilizationMax * 100)}% busy (limit ${WORKER_UTILIZATION_LIMIT * 100}%)`);
      if (accepted < plan.length) reasons.push(`${plan.length - accepted} of ${plan.length} publishes not accepted`);
      if (p99Us !== null && p99Us > FALLING_BEHIND_US) reasons.push(`latency p99 ${(p99Us / 1000).toFixed(1)} ms against a server that adds almost none: rtbench fell behind`);
      const causes = [...(messages.lost > 0 ? [`${messages.lost} of ${messages.expected} deliveries lost`] : []), ...reasons];
      const deliveredPerS = Math.round(messages.received / windowS);
      context.log(`ceiling ${ratePerS}/s: rtbench read ${deliveredPerS}/s, its CPU ${generatorPct}%, the null server's ${serverPct ?? '-'}%${causes.length > 0 ? ` -> ${causes.join('; ')}` : ''}`);
      const step = { offeredPerS: ratePerS, deliveredPerS, lost: messages.lost, generatorCpuPct: generatorPct, nullServerCpuPct: serverPct, sendLagP99Us, held: causes.length === 0, causes };
      steps.push(step);
      if (!step.held) {
        limitedBy = (serverPct ?? 0) >= NULL_SERVER_BUSY_PCT && reasons.length === 0 ? 'null server' : 'generator';
        why = `${ratePerS}/s: ${causes.join('; ')}${limitedBy === 'null server' ? ` while the null server was ${serverPct}% busy: the generator's ceiling is at least the last rate held` : ''}`;
      }
      return step;
    };
    for (let k = 0; k < MAX_STEPS && !context.signal.aborted; k++) {
      const ratePerS = config.firstRatePerS * 2 ** k;
      if ((await tryRate(ratePerS)).held) continue;
      // One stall of a shared machine can fail a short step: a rate is tried twice before it stops the search.
      if ((await tryRate(ratePerS)).held) continue;
      // Doubling leaves the ceiling anywhere between the last rate held and this one: one step
      // between them narrows it to within a quarter.
      if (k > 0 && !context.signal.aborted) {
        const stopped = { limitedBy, why };
        await tryRate(Math.round(ratePerS * 0.75));
        ({ limitedBy, why } = stopped);
      }
      break;
    }
  } finally {
    await pool.close();
    await publisher.close();
  }
  const held = steps.filter((s) => s.held).reduce<CeilingStep | null>((best, s) => (best === null || s.offeredPerS > best.offeredPerS ? s : best), null);
  const channel = floor.target.publisher(await floor.target.provision({ rooms: 1, subscriberRooms: [], tag: '-publish' }));
  const publishSteps = await publishCeiling(channel, context.signal, { log: (line) => context.log(`ceiling: ${line}`) }).finally(() => channel.close());
  return {
    deliveredPerS: held?.deliveredPerS ?? null,
    offeredPerS: held?.offeredPerS ?? null,
    limitedBy,
    why,
    publishPerS: highestPublishRate(publishSteps, (s) => s.held),
    publishKeptPerS: highestPublishRate(publishSteps, (s) => s.kept),
    publishSteps,
    steps,
  };
}

