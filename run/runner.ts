import { availableParallelism } from 'node:os';
import { CLIENTS } from '../clients/index.js';
import type { ClientContext } from '../clients/types.js';
import type { TransportName } from '../core/transports.js';
import { type ProfileRef, loadProfile } from '../targets/load.js';
import type { TargetProfile } from '../targets/types.js';
import { referenceProfile } from '../targets/reference.js';
import type { Observed, Scenario, ScenarioContext } from './scenario.js';
import { type ChildHandle, startChild } from './child.js';
import { ServerCluster } from './cluster.js';
import { AgentSet } from '../agents/coordinator.js';
import { nowUs } from '../core/clock.js';
import { environment } from '../core/environment.js';
import { RtbError, errorCode, usageError } from '../core/errors.js';
import { checkTarget } from './health.js';
import { newRunId } from '../core/marker.js';
import type { CommonConfig } from './options.js';
import { programPath } from '../core/entry-points.js';
import { seededRandom } from '../core/random.js';
import { Recorder } from '../load/recorder.js';
import { type RunState, type RunSummary, SCHEMA_ID, SCHEMA_VERSION, type TransportResult } from '../core/result.js';
import { ResourceSampler } from './sampler.js';
import { allowedCpus, pinProcess } from './pinning.js';
import type { Plan } from './preflight.js';
import { saturation } from '../load/saturation.js';
import { NO_OWN_DELAY, ownDelayQuantileUs } from '../core/own-delay.js';
import { checkProfileOptions, checkTargetGiven, resumeKindOf, resumeOf, targetContext, targetHandle, transportsOf } from './target.js';
import { redactOptions, redactUrl } from '../core/redact.js';

export interface RunLog {
  log(line: string): void;
  progress(line: string): void;
}

export interface RunRequest<Config> {
  readonly scenario: Scenario<Config>;
  readonly common: CommonConfig;
  readonly scenarioConfig: Config;
  /** Every option as parsed, recorded in the result so a run can be repeated exactly. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly command: readonly string[];
  readonly signal: AbortSignal;
  readonly runLog: RunLog;
  /** Writes a partial summary during a long run (soak), so a crash keeps what was measured. */
  readonly checkpoint?: (summary: RunSummary) => Promise<void>;
}

const RECONNECT_POLICY = { baseMs: 100, maxMs: 5000 };

/** Proxy URL plus the target's path prefix, so `--target http://h/api --delay 50` keeps `/api`. */
function throughProxy(proxyUrl: string, upstream: string): string {
  const prefix = new URL(upstream).pathname.replace(/\/+$/, '');
  return `${proxyUrl}${prefix}`;
}

async function startProxy(upstream: string, common: CommonConfig): Promise<ChildHandle> {
  const url = new URL(upstream);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return startChild('delay proxy', programPath('proxy'), [
    JSON.stringify({ upstreamHost: url.hostname, upstreamPort: port, delayMs: common.delayMs, jitterMs: common.jitterMs, mode: common.delayMode, seed: common.seed }),
  ]);
}

/** One transport, start to finish, on its own fresh server; always returns a result, never leaves a process. */
/** What runScenario settles once for every transport: the profile and what each transport does. */
interface RunPlan {
  readonly runId: string;
  /** Which of `--repeat N` runs this is (1-based), or null for a single run. */
  readonly repeat: number | null;
  readonly profile: TargetProfile;
  readonly ref: ProfileRef;
  readonly resume: Readonly<Record<string, boolean>>;
  readonly machine: Plan | null;
}

async function runTransport<Config>(request: RunRequest<Config>, transport: TransportName, plan: RunPlan, agents: AgentSet | null, checkpoint: (current: TransportResult) => Promise<void>): Promise<TransportResult> {
  const { runId, machine, profile } = plan;
  const resume = plan.resume[transport] ?? false;
  const { scenario, common, runLog } = request;
  const startedAt = new Date();
  const startedUs = nowUs();
  const log = (line: string): void => runLog.log(`${transport}: ${line}`);
  const transportAbort = new AbortController();
  const signal = AbortSignal.any([request.signal, transportAbort.signal]);
  let cluster: ServerCluster | null = null;
  let proxy: ChildHandle | null = null;
  const nullServers: ChildHandle[] = [];
  let sampler: ResourceSampler | null = null;
  let observed: Observed | null = null;
  let failure: unknown = null;
  let stopping = false;
  let serverDied: string | null = null;
  /** The CPUs the built-in server may use, read once it started (it is gone by the time the result is made). */
  let serverCpusAllowed: string | null = null;

  const serverExited = (how: string): void => {
    if (stopping) return;
    serverDied = how;
    transportAbort.abort();
  };

  /** The result as it stands; called at the end, and by checkpoints during a long run. */
  const resultNow = (state: RunState): TransportResult => {
    const watched = observed as Observed | null;
    const snapshot = watched?.measured() ?? { result: new Recorder({ runId, plan: [], deadlineUs: 1 }).result(0), reconnects: 0, gaps: 0, sends: 0 };
    const measured = snapshot.result;
    const judged = sampler?.judged();
    const generatorUsage = sampler?.usageOf('generator', judged) ?? { cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null };
    const proxyUsage = sampler?.usageOf('proxy', judged) ?? null;
    const loopDelayUs = sampler?.eventLoopDelayP99UsMax(judged) ?? null;
    const usableCores = Math.min(watched?.generatorThreads ?? 1, availableParallelism());
    const own = watched?.ownDelay?.() ?? NO_OWN_DELAY;
    const ownP99Us = ownDelayQuantileUs(own, 0.99);
    const processReasons = saturation(generatorUsage, ownP99Us === null ? null : { boundUs: ownP99Us, p99Us: measured.latencyUs.perMessage.p99 }, { lagP99Us: measured.latencyUs.sendLag.p99, latencyP99Us: measured.latencyUs.perMessage.p99 }, proxyUsage, usableCores).reasons;
    const agentShares = agents?.share() ?? [];
    const reasons = [...processReasons, ...(watched?.saturationReasons?.() ?? []), ...agentShares.flatMap((a) => a.saturationReasons)];
    const details = watched?.details?.() ?? null;
    return {
      transport,
      scenario: scenario.name,
      ...(plan.repeat === null ? {} : { repeat: plan.repeat }),
      runId,
      state,
      error: failure ? { code: errorCode(failure), message: (failure as Error).message ?? String(failure) } : null,
      config: { ...redactOptions(request.options), transport, profile: profile.name, resume, resumeKind: resumeKindOf(profile, transport) },
      environment: environment(),
      server: common.target === null ? 'built-in' : redactUrl(common.target),
      startedAt: startedAt.toISOString(),
      durationMs: Math.round((nowUs() - startedUs) / 1000),
      latencyUs: measured.latencyUs,
      messages: measured.messages,
      subscriberBursts: measured.subscriberBursts,
      connections: { subscribers: watched?.subscribers ?? 0, reconnects: snapshot.reconnects, gaps: snapshot.gaps, sends: snapshot.sends },
      errors: measured.errors,
      serverUsage: sampler?.usageOf('server', judged) ?? null,
      ...(sampler && sampler.notes().length > 0 ? { serverUsageNotes: sampler.notes() } : {}),
      cpus: { server: serverCpusAllowed, generator: allowedCpus(process.pid) },
      generator: { ...generatorUsage, saturated: reasons.length > 0, saturationReasons: reasons, eventLoopDelayP99UsMax: loopDelayUs, cpuWaitUsMax: sampler?.cpuWaitUsMax(judged) ?? null, ownDelayUsMax: own.longestUs, ownDelayP99Us: ownP99Us },
      proxyUsage,
      histograms: measured.histograms,
      // With agents, who held which subscribers and on which clock: the totals above include all of them.
      details: agents && details ? { ...details, agents: agentShares, clock: agents.clockStatement() } : details,
      samples: sampler?.rows ?? [],
    };
  };

  try {
    if (!common.target) {
      cluster = await ServerCluster.start(transport, common, runId, serverExited, scenario.busFaults?.(request.scenarioConfig) ?? false);
      serverCpusAllowed = allowedCpus(cluster.pids[0] as number);
      log(
        cluster.size === 1
          ? `built-in server on ${cluster.urls[0]} (pid ${cluster.pids[0]})`
          : `${cluster.size} built-in server instances on ${common.bus} (pids ${cluster.pids.join(', ')}): ${cluster.urls.join(', ')}`,
      );
    }
    const instanceUrls = cluster ? cluster.urls : common.targets;
    const upstream = instanceUrls[0] as string;
    if (common.delayMs > 0 || scenario.needsProxy?.(request.scenarioConfig)) {
      proxy = await startProxy(upstream, common);
      log(`proxy on ${proxy.url}: ${common.delayMs} ms one-way${common.jitterMs ? ` ±${common.jitterMs} ms` : ''}, ${common.delayMode} mode`);
    }
    const baseUrl = proxy ? throughProxy(proxy.url, upstream) : upstream;
    const clientContext: ClientContext = {
      resume,
      reconnect: { baseMs: RECONNECT_POLICY.baseMs, maxMs: Math.min(RECONNECT_POLICY.maxMs, scenario.reconnectMaxMs?.(request.scenarioConfig) ?? RECONNECT_POLICY.maxMs) },
      connectTimeoutMs: common.connectTimeoutMs,
      random: seededRandom(common.seed),
    };
    const target = targetHandle(profile, plan.ref, targetContext(common, transport, runId, baseUrl, upstream, resume, proxy ? [baseUrl] : instanceUrls));
    const pids: Partial<Record<'server' | 'generator' | 'proxy', number | readonly number[]>> = { generator: process.pid };
    if (cluster) pids.server = cluster.pids;
    const instances = cluster; // fixed from here on, for the closures below
    if (proxy) pids.proxy = proxy.pid;
    sampler = new ResourceSampler(pids, () => observed?.live() ?? { connections: 0, sent: 0, received: 0, measuring: false }, undefined, {
      loopMonitor: scenario.stampsOnMainThread === true && agents === null,
      externalServer: common.serverPids.length > 0 ? { pids: common.serverPids } : common.serverMetricsUrl ? { metricsUrl: common.serverMetricsUrl } : null,
    });
    await sampler.start();
    const sampled = sampler.rows;
    const proxyChild = proxy;
    const context: ScenarioContext = {
      transport,
      client: CLIENTS[transport] as ScenarioContext['client'],
      clientContext,
      target,
      runId,
      seed: common.seed,
      signal,
      log,
      progress: runLog.progress,
      observe: (what) => {
        observed = what;
      },
      samples: () => sampled,
      sampleNow: async () => sampler?.sampleNow(),
      machine,
      proxy: proxyChild
        ? {
            cut: () => proxyChild.send('cut'),
            refuse: (on: boolean) => proxyChild.send(on ? 'refuse on' : 'refuse off'),
            stall: (direction: 'up' | 'down', ms: number) => proxyChild.send(`stall ${direction} ${Math.round(ms)}`),
            loss: (probability: number, ms: number) => proxyChild.send(`loss ${probability} ${Math.round(ms)}`),
          }
        : null,
      restartServer: instances
        ? async () => {
            // Every instance at once: the whole service goes down and comes back on the same ports.
            await Promise.all(instances.urls.map((_, index) => instances.restart(index)));
            sampler?.setPid('server', instances.pids);
            log(`server restarted on ${instances.urls.join(', ')} (pid ${instances.pids.join(', ')})`);
          }
        : null,
      instances: cluster?.size ?? 1,
      restartInstance: instances
        ? async (index: number) => {
            const fresh = await instances.restart(index);
            sampler?.setPid('server', instances.pids);
            log(`instance ${index + 1} of ${instances.size} restarted on ${fresh.url} (pid ${fresh.pid})`);
          }
        : null,
      busOutage: instances?.canCutBus ? (ms: number) => instances.busOutage(ms, signal) : null,
      nullTarget: async () => {
        const server = await startChild('null server', programPath('nullServer'), ['--exit-on-stdin-end']);
        nullServers.push(server);
        if (common.serverCpus) pinProcess(server.pid, common.serverCpus);
        const context = targetContext(common, transport, runId, server.url, server.url, resume, [server.url]);
        return { target: targetHandle(referenceProfile, { builtIn: referenceProfile.name }, context), pid: server.pid };
      },
      agents,
      checkpoint: () => checkpoint(resultNow('aborted')),
    };
    await scenario.run(context, request.scenarioConfig);
  } catch (error) {
    failure = error;
  } finally {
    stopping = true;
    await sampler?.stop();
    // The run's rows back in memory and the spill file deleted: the result outlives this function.
    sampler?.rows.drain();
    await proxy?.stop();
    await Promise.all(nullServers.map((server) => server.stop()));
    await cluster?.stop();
  }
  if (serverDied && !failure) failure = new RtbError('RTB_ERR_CHILD_START', `the server process exited (${serverDied}) in the middle of the run`);
  if (failure) log(`failed: ${(failure as Error).message}`);
  return resultNow(request.signal.aborted ? 'aborted' : failure ? 'failed' : 'completed');
}

/** Runs a scenario for every requested transport, one after another, and returns the whole summary. */
/** What a run will do, settled before anything starts: everything the command line can get wrong is said here. */
export interface Prepared {
  readonly plan: RunPlan;
  readonly transports: readonly TransportName[];
}

export async function prepareRun<Config>(request: Pick<RunRequest<Config>, 'scenario' | 'common' | 'scenarioConfig' | 'runLog'>): Promise<Prepared> {
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
  for (const check of machine?.checks ?? []) request.runLog.log(`preflight: ${check}`);
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

export async function runScenario<Config>(request: RunRequest<Config>, prepared?: Prepared): Promise<RunSummary> {
  const startedAt = new Date().toISOString();
  const { common } = request;
  const { plan, transports } = prepared ?? (await prepareRun(request));
  const { runId } = plan;
  // Before any worker thread starts: threads inherit the pinning of the thread that starts them.
  if (common.generatorCpus) pinProcess(process.pid, common.generatorCpus);
  const results: TransportResult[] = [];
  // The agents are claimed once for the whole run, and serve every transport in turn.
  const agents = common.agents > 0 ? await AgentSet.claim(common.coordinator, common.agents, runId, request.runLog.log, request.signal) : null;
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
        const checkpoint = async (current: TransportResult): Promise<void> => request.checkpoint?.(summaryOf([...results, current], 'aborted', true));
        results.push(await runTransport(request, transport, repeatPlan, agents, checkpoint));
      }
    }
  } finally {
    await agents?.release();
  }

  const state: RunState = request.signal.aborted ? 'aborted' : results.some((r) => r.state !== 'completed') ? 'failed' : 'completed';
  return summaryOf(results, state, false);
}
