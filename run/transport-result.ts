import { availableParallelism } from 'node:os';
import type { AgentSet } from '../agents/coordinator.js';
import { nowUs } from '../core/clock.js';
import { environment } from '../core/environment.js';
import type { AgentShare } from '../core/details.js';
import { errorCode } from '../core/errors.js';
import { NO_OWN_DELAY, ownDelayQuantileUs } from '../core/own-delay.js';
import { redactOptions, redactUrl } from '../core/redact.js';
import type { RunState, TransportResult } from '../core/result.js';
import type { TransportName } from '../core/transports.js';
import { Recorder } from '../load/recorder.js';
import { saturation } from '../load/saturation.js';
import type { ProfileRef } from '../targets/load.js';
import type { TargetProfile } from '../targets/types.js';
import type { CommonConfig } from './options.js';
import { allowedCpus } from './pinning.js';
import type { Plan } from './preflight.js';
import type { ResourceSampler } from './sampler.js';
import type { Observed } from './scenario.js';
import { resumeKindOf } from './target.js';

/** What the runner settles once for every transport: the profile and what each transport does. */
export interface RunPlan {
  readonly runId: string;
  /** Which of `--repeat N` runs this is (1-based), or null for a single run. */
  readonly repeat: number | null;
  readonly profile: TargetProfile;
  readonly ref: ProfileRef;
  readonly resume: Readonly<Record<string, boolean>>;
  readonly machine: Plan | null;
}

/** What one transport run has gathered so far; its result is made from this at the end or at a checkpoint. */
export interface TransportState {
  readonly transport: TransportName;
  readonly scenario: string;
  readonly plan: RunPlan;
  readonly common: CommonConfig;
  /** Every option as parsed (recorded with secrets as ***). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly agents: AgentSet | null;
  readonly startedAt: Date;
  readonly startedUs: number;
  sampler: ResourceSampler | null;
  observed: Observed | null;
  failure: unknown;
  /** The CPUs the built-in server may use, read once it started (it is gone by the time the result is made). */
  serverCpusAllowed: string | null;
  /** Subscribers connected over each HTTP protocol, summed over the run's pools (TLS targets only). */
  readonly protocols: Record<string, number>;
}

/** Whether rtbench itself may have limited the numbers, and why. */
function generatorVerdict(state: TransportState, measured: TransportResult['latencyUs'], judged: ReturnType<ResourceSampler['judged']> | undefined, agentShares: readonly AgentShare[]) {
  const { sampler, observed } = state;
  const usage = sampler?.usageOf('generator', judged) ?? { cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null };
  const proxyUsage = sampler?.usageOf('proxy', judged) ?? null;
  const usableCores = Math.min(observed?.generatorThreads ?? 1, availableParallelism());
  const own = observed?.ownDelay?.() ?? NO_OWN_DELAY;
  const ownP99Us = ownDelayQuantileUs(own, 0.99);
  const processReasons = saturation(usage, ownP99Us === null ? null : { boundUs: ownP99Us, p99Us: measured.perMessage.p99 }, { lagP99Us: measured.sendLag.p99, latencyP99Us: measured.perMessage.p99 }, proxyUsage, usableCores).reasons;
  const agentReasons = agentShares.flatMap((a) => a.saturationReasons);
  const reasons = [...processReasons, ...(observed?.saturationReasons?.() ?? []), ...agentReasons];
  return {
    generator: {
      ...usage,
      saturated: reasons.length > 0,
      saturationReasons: reasons,
      eventLoopDelayP99UsMax: sampler?.eventLoopDelayP99UsMax(judged) ?? null,
      cpuWaitUsMax: sampler?.cpuWaitUsMax(judged) ?? null,
      ownDelayUsMax: own.longestUs,
      ownDelayP99Us: ownP99Us,
    },
    proxyUsage,
  };
}

/** The transport's result as it stands, in `state` (running, completed, failed or aborted). */
export function transportResult(state: TransportState, runState: RunState): TransportResult {
  const { transport, plan, common, sampler, observed, failure, agents } = state;
  const snapshot = observed?.measured() ?? { result: new Recorder({ runId: plan.runId, plan: [], deadlineUs: 1 }).result(0), reconnects: 0, gaps: 0, sends: 0 };
  const measured = snapshot.result;
  const judged = sampler?.judged();
  const agentShares = agents?.share() ?? [];
  const { generator, proxyUsage } = generatorVerdict(state, measured.latencyUs, judged, agentShares);
  const details = observed?.details?.() ?? null;
  const resume = plan.resume[transport] ?? false;
  return {
    transport,
    scenario: state.scenario,
    ...(plan.repeat === null ? {} : { repeat: plan.repeat }),
    runId: plan.runId,
    state: runState,
    error: failure ? { code: errorCode(failure), message: (failure as Error).message ?? String(failure) } : null,
    config: { ...redactOptions(state.options), transport, profile: plan.profile.name, resume, resumeKind: resumeKindOf(plan.profile, transport) },
    environment: environment(),
    server: common.target === null ? 'built-in' : redactUrl(common.target),
    startedAt: state.startedAt.toISOString(),
    durationMs: Math.round((nowUs() - state.startedUs) / 1000),
    latencyUs: measured.latencyUs,
    messages: measured.messages,
    subscriberBursts: measured.subscriberBursts,
    connections: { subscribers: observed?.subscribers ?? 0, reconnects: snapshot.reconnects, gaps: snapshot.gaps, sends: snapshot.sends, ...(Object.keys(state.protocols).length > 0 ? { protocols: { ...state.protocols } } : {}) },
    errors: measured.errors,
    serverUsage: sampler?.usageOf('server', judged) ?? null,
    ...(sampler && sampler.notes().length > 0 ? { serverUsageNotes: sampler.notes() } : {}),
    cpus: { server: state.serverCpusAllowed, generator: allowedCpus(process.pid) },
    generator,
    proxyUsage,
    histograms: measured.histograms,
    // With agents, who held which subscribers and on which clock: the totals above include all of them.
    details: agents && details ? { ...details, agents: agentShares, clock: agents.clockStatement() } : details,
    samples: sampler?.rows ?? [],
  };
}
