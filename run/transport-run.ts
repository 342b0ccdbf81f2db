import type { AgentSet } from '../agents/coordinator.js';
import { nowUs } from '../core/clock.js';
import { programPath } from '../core/entry-points.js';
import { RtbError } from '../core/errors.js';
import type { TransportResult } from '../core/result.js';
import type { TransportName } from '../core/transports.js';
import { referenceProfile } from '../targets/reference.js';
import { type ChildHandle, startChild } from './child.js';
import { ServerCluster } from './cluster.js';
import type { CommonConfig } from './options.js';
import { allowedCpus, pinProcess } from './pinning.js';
import type { RunRequest } from './request.js';
import { ResourceSampler } from './sampler.js';
import type { ScenarioContext } from './scenario.js';
import { targetContext, targetHandle } from './target.js';
import { type RunPlan, type TransportState, transportResult } from './transport-result.js';

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

/** The processes one transport run starts and must stop: built-in servers, the proxy, null servers. */
interface Processes {
  cluster: ServerCluster | null;
  proxy: ChildHandle | null;
  readonly nullServers: ChildHandle[];
}

/** The proxy's faults, as commands on its standard input. */
function proxyFaults(proxy: ChildHandle): NonNullable<ScenarioContext['proxy']> {
  return {
    cut: () => proxy.send('cut'),
    refuse: (on: boolean) => proxy.send(on ? 'refuse on' : 'refuse off'),
    stall: (direction: 'up' | 'down', ms: number) => proxy.send(`stall ${direction} ${Math.round(ms)}`),
    loss: (probability: number, ms: number) => proxy.send(`loss ${probability} ${Math.round(ms)}`),
  };
}

/** Restarts of the built-in servers, each followed by the sampler (new pids) and a log line. */
function restarts(instances: ServerCluster | null, sampler: ResourceSampler, log: (line: string) => void) {
  if (!instances) return { restartServer: null, restartInstance: null };
  return {
    restartServer: async () => {
      // Every instance at once: the whole service goes down and comes back on the same ports.
      await Promise.all(instances.urls.map((_, index) => instances.restart(index)));
      sampler.setPid('server', instances.pids);
      log(`server restarted on ${instances.urls.join(', ')} (pid ${instances.pids.join(', ')})`);
    },
    restartInstance: async (index: number) => {
      const fresh = await instances.restart(index);
      sampler.setPid('server', instances.pids);
      log(`instance ${index + 1} of ${instances.size} restarted on ${fresh.url} (pid ${fresh.pid})`);
    },
  };
}

/** Starts the built-in servers (unless there is a --target) and the proxy when one is needed; returns where subscribers go. */
async function startServers<Config>(request: RunRequest<Config>, state: TransportState, processes: Processes, serverExited: (how: string) => void, log: (line: string) => void) {
  const { scenario, common } = request;
  if (!common.target) {
    const cluster = await ServerCluster.start(state.transport, common, state.plan.runId, serverExited, scenario.busFaults?.(request.scenarioConfig) ?? false);
    processes.cluster = cluster;
    state.serverCpusAllowed = allowedCpus(cluster.pids[0] as number);
    log(
      cluster.size === 1
        ? `built-in server on ${cluster.urls[0]} (pid ${cluster.pids[0]})`
        : `${cluster.size} built-in server instances on ${common.bus} (pids ${cluster.pids.join(', ')}): ${cluster.urls.join(', ')}`,
    );
  }
  const instanceUrls = processes.cluster ? processes.cluster.urls : common.targets;
  const upstream = instanceUrls[0] as string;
  if (common.delayMs > 0 || scenario.needsProxy?.(request.scenarioConfig)) {
    processes.proxy = await startProxy(upstream, common);
    log(`proxy on ${processes.proxy.url}: ${common.delayMs} ms one-way${common.jitterMs ? ` ±${common.jitterMs} ms` : ''}, ${common.delayMode} mode`);
  }
  const baseUrl = processes.proxy ? throughProxy(processes.proxy.url, upstream) : upstream;
  return { upstream, baseUrl, instanceUrls: processes.proxy ? [baseUrl] : instanceUrls };
}

/** Samples the generator, the built-in servers (or the target's own processes or metrics) and the proxy. */
function startSampler<Config>(request: RunRequest<Config>, state: TransportState, processes: Processes): ResourceSampler {
  const { common } = request;
  const pids: Partial<Record<'server' | 'generator' | 'proxy', number | readonly number[]>> = { generator: process.pid };
  if (processes.cluster) pids.server = processes.cluster.pids;
  if (processes.proxy) pids.proxy = processes.proxy.pid;
  return new ResourceSampler(pids, () => state.observed?.live() ?? { connections: 0, sent: 0, received: 0, measuring: false }, undefined, {
    // Every scenario's arrivals are stamped in subscriber threads: no monitor wakes this one.
    loopMonitor: false,
    externalServer: common.serverPids.length > 0 ? { pids: common.serverPids } : common.serverMetricsUrl ? { metricsUrl: common.serverMetricsUrl } : null,
  });
}

/** Starts the servers and sampler, and gives the scenario everything it may use of this transport run. */
async function scenarioContext<Config>(request: RunRequest<Config>, state: TransportState, processes: Processes, signal: AbortSignal, hooks: { serverExited: (how: string) => void; log: (line: string) => void; checkpoint: () => Promise<void> }): Promise<ScenarioContext> {
  const { common, scenario } = request;
  const { transport, plan } = state;
  const { runId } = plan;
  const resume = plan.resume[transport] ?? false;
  const { upstream, baseUrl, instanceUrls } = await startServers(request, state, processes, hooks.serverExited, hooks.log);
  const reconnect = { baseMs: RECONNECT_POLICY.baseMs, maxMs: Math.min(RECONNECT_POLICY.maxMs, scenario.reconnectMaxMs?.(request.scenarioConfig) ?? RECONNECT_POLICY.maxMs) };
  const sampler = startSampler(request, state, processes);
  state.sampler = sampler;
  await sampler.start();
  const sampled = sampler.rows;
  const instances = processes.cluster;
  return {
    transport,
    reconnect,
    target: targetHandle(plan.profile, plan.ref, targetContext(common, transport, runId, baseUrl, upstream, resume, instanceUrls)),
    runId,
    seed: common.seed,
    signal,
    log: hooks.log,
    progress: request.output.progress,
    observe: (what) => {
      state.observed = what;
    },
    connectedOver: (protocols) => {
      for (const [protocol, n] of Object.entries(protocols)) state.protocols[protocol] = (state.protocols[protocol] ?? 0) + n;
    },
    samples: () => sampled,
    sampleNow: async () => sampler.sampleNow(),
    machine: plan.machine,
    proxy: processes.proxy ? proxyFaults(processes.proxy) : null,
    ...restarts(instances, sampler, hooks.log),
    instances: instances?.size ?? 1,
    busOutage: instances?.canCutBus ? (ms: number) => instances.busOutage(ms, signal) : null,
    nullTarget: async () => {
      const server = await startChild('null server', programPath('nullServer'), ['--exit-on-stdin-end']);
      processes.nullServers.push(server);
      if (common.serverCpus) pinProcess(server.pid, common.serverCpus);
      const context = targetContext(common, transport, runId, server.url, server.url, resume, [server.url]);
      return { target: targetHandle(referenceProfile, { builtIn: referenceProfile.name }, context), pid: server.pid };
    },
    agents: state.agents,
    checkpoint: hooks.checkpoint,
  };
}

/** One transport, start to finish, on its own fresh server; always returns a result, never leaves a process. */
export async function runTransport<Config>(request: RunRequest<Config>, transport: TransportName, plan: RunPlan, agents: AgentSet | null, checkpoint: (current: TransportResult) => Promise<void>): Promise<TransportResult> {
  const state: TransportState = {
    transport, scenario: request.scenario.name, plan, common: request.common, options: request.options, agents,
    startedAt: new Date(), startedUs: nowUs(), sampler: null, observed: null, failure: null, serverCpusAllowed: null, protocols: {},
  };
  const processes: Processes = { cluster: null, proxy: null, nullServers: [] };
  const log = (line: string): void => request.output.phase(`${transport}: ${line}`);
  const transportAbort = new AbortController();
  const signal = AbortSignal.any([request.signal, transportAbort.signal]);
  let stopping = false;
  let serverDied: string | null = null;
  const serverExited = (how: string): void => {
    if (stopping) return;
    serverDied = how;
    transportAbort.abort();
  };
  try {
    const context = await scenarioContext(request, state, processes, signal, { serverExited, log, checkpoint: () => checkpoint(transportResult(state, 'aborted')) });
    await request.scenario.run(context, request.scenarioConfig);
  } catch (error) {
    state.failure = error;
  } finally {
    stopping = true;
    await state.sampler?.stop();
    // The run's rows back in memory and the spill file deleted: the result outlives this function.
    state.sampler?.rows.drain();
    await processes.proxy?.stop();
    await Promise.all(processes.nullServers.map((server) => server.stop()));
    await processes.cluster?.stop();
  }
  if (serverDied && !state.failure) state.failure = new RtbError('RTB_ERR_CHILD_START', `the server process exited (${serverDied}) in the middle of the run`);
  if (state.failure) log(`failed: ${(state.failure as Error).message}`);
  return transportResult(state, request.signal.aborted ? 'aborted' : state.failure ? 'failed' : 'completed');
}
