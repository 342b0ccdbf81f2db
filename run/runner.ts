import type { TransportName } from '../core/transports.js';
import { loadProfile } from '../targets/load.js';
import { AgentSet } from '../agents/coordinator.js';
import { environment } from '../core/environment.js';
import { usageError } from '../core/errors.js';
import { checkTarget } from './health.js';
import { newRunId } from '../core/marker.js';
import { type RunState, type RunSummary, SCHEMA_ID, SCHEMA_VERSION, type TransportResult } from '../core/result.js';
import { pinProcess } from './pinning.js';
import { checkProfileOptions, checkTargetGiven, resumeKindOf, resumeOf, targetContext, transportsOf } from './target.js';
import { redactUrl } from '../core/redact.js';
import type { RunPlan } from './transport-result.js';
import type { RunRequest } from './request.js';
import { runTransport } from './transport-run.js';

/** What a run will do, settled before anything starts: everything the command line can get wrong is said here. */
export interface Prepared {
  readonly plan: RunPlan;
  readonly transports: readonly TransportName[];
}

export async function prepareRun<Config>(request: Pick<RunRequest<Config>, 'scenario' | 'common' | 'scenarioConfig' | 'output'>): Promise<Prepared> {
  const runId = newRunId();
  const { common } = request;
  const { profile, ref } = await loadProfile(common.profile);
  checkTargetGiven(profile, common);
  checkProfileOptions(profile, common.profileOptions);
  const transports = transportsOf(profile, common);
  const resume = resumeOf(profile, transports, common.resume);
  const resumeOnly = request.scenario.resumeOnly?.(request.scenarioConfig);
  const cannotResume = transports.filter((t) => resumeKindOf(profile, t) === 'none');
  if (resumeOnly && cannotResume.length > 0) {
    throw usageError(resumeOnly.option, resumeOnly.value, `a mode that runs without resume: profile ${profile.name} cannot resume over ${cannotResume.join(', ')} (it has no cursor there)`);
  }
  const machine = request.scenario.preflight?.(request.scenarioConfig, common) ?? null;
  for (const check of machine?.checks ?? []) request.output.phase(`preflight: ${check}`);
  const instances = Math.max(common.instances, common.targets.length);
  if (instances > 1 && request.scenario.needsProxy?.(request.scenarioConfig)) {
    throw usageError(common.targets.length > 1 ? '--target' : '--instances', common.targets.length > 1 ? redactUrl(common.targets.join(',')) : common.instances, `one server for rtbench ${request.scenario.name} as configured: its faults go through the proxy, which fronts one server`);
  }
  if (common.agents > 0 && !request.scenario.agents) {
    throw usageError('--agents', common.agents, `0 for rtbench ${request.scenario.name}: agents take a share of the subscribers of burst, ramp, soak and throughput`);
  }
  for (const url of common.targets) await checkTarget(profile, targetContext(common, transports[0] as TransportName, runId, url, url, false));
  return { plan: { runId, repeat: null, profile, ref, resume, machine }, transports };
}

/** Runs a scenario for every requested transport, one after another, tells the outputs, and returns the whole summary. */
export async function runScenario<Config>(request: RunRequest<Config>, prepared?: Prepared): Promise<RunSummary> {
  const startedAt = new Date().toISOString();
  const { common } = request;
  const { plan, transports } = prepared ?? (await prepareRun(request));
  const { runId } = plan;
  // Before any worker thread starts: threads inherit the pinning of the thread that starts them.
  if (common.generatorCpus) pinProcess(process.pid, common.generatorCpus);
  const results: TransportResult[] = [];
  // The agents are claimed once for the whole run, and serve every transport in turn.
  const agents = common.agents > 0 ? await AgentSet.claim(common.coordinator, common.agents, runId, request.output.phase, request.signal) : null;
  const summaryOf = (transports: readonly TransportResult[], state: RunState, checkpoint: boolean): RunSummary => ({
    schema: SCHEMA_ID,
    schemaVersion: SCHEMA_VERSION,
    runId,
    scenario: request.scenario.name,
    state,
    ...(checkpoint ? { checkpoint: true } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
    command: request.command,
    environment: environment(),
    transports,
  });
  // Repeats interleave the transports (ws, sse, ..., ws, sse, ...), so a machine's drift over the run
  // hits every transport alike; each repeat has its own run id, so no room is shared between two.
  try {
    for (let repeat = 1; repeat <= common.repeat; repeat++) {
      const repeatPlan: RunPlan = common.repeat === 1 ? plan : { ...plan, repeat, runId: repeat === 1 ? runId : newRunId() };
      for (const transport of transports) {
        if (request.signal.aborted) break;
        // A checkpoint says `aborted` with `checkpoint: true`: if rtbench is gone, that is where it stopped.
        const checkpoint = (current: TransportResult): Promise<void> => request.output.checkpoint(summaryOf([...results, current], 'aborted', true));
        results.push(await runTransport(request, transport, repeatPlan, agents, checkpoint));
      }
    }
  } finally {
    await agents?.release();
  }

  const state: RunState = request.signal.aborted ? 'aborted' : results.some((r) => r.state !== 'completed') ? 'failed' : 'completed';
  const summary = summaryOf(results, state, false);
  await request.output.done(summary);
  return summary;
}
