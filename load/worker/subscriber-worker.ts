/**
 * A load-generator thread: holds its share of the subscribers, matches what they receive with its
 * own Recorder, and answers the pool's requests. Histograms leave the thread encoded; nothing is
 * shared, so each thread's hot path (one arrival) touches only its own memory.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { CLIENTS } from '../../clients/index.js';
import { connectedCount, watchConnectedCount } from '../../clients/reconnect.js';
import type { ClientContext, Subscription, TransportClient } from '../../clients/types.js';
import { profileFromRef } from '../../targets/load.js';
import { nowUs, setClockOffsetUs } from '../../core/clock.js';
import { encodeHistogram, newHistogram, recordUs } from '../../core/histogram.js';
import { WARMUP_GROUP, decodeMarker } from '../../core/marker.js';
import { seededRandom } from '../../core/random.js';
import { Recorder } from '../recorder.js';
import { OwnDelayMeter } from '../../core/own-delay.js';
import { ownWaitUs, readsTakenSoFarHandled } from '../../clients/read-turns.js';
import { subscriberContext } from '../spread.js';
import { heapAfterGc } from '../../core/heap.js';
import type { ConnectReply, ConnectionStatus, FromWorker, StepReply, SubscriberSpec, ToWorker, WorkerInit } from './protocol.js';
import type { WarmStatus } from './pool.js';
import { setTlsTrust } from '../../core/tls-trust.js';
import { keepAwake } from './keep-awake.js';
import { BrowserClient } from '../../clients/browser/page-client.js';
import { launchTag } from '../../clients/browser/chromium.js';
import { LiveCells } from './live-cells.js';

/** `liveCells`: shared memory for the live counters, given to a thread of this process (live-cells.ts). */
const init = workerData as WorkerInit & { workerIndex: number; liveCells?: SharedArrayBuffer };
if (init.tlsTrust) setTlsTrust(init.tlsTrust);
// On an agent of another machine, every time this thread takes reads on the coordinator's clock.
setClockOffsetUs(init.clockOffsetUs ?? 0);
const port = parentPort!;
/** With `browser`, this thread's subscribers are Chromium pages (clients/browser/). */
const browserClient = init.browser
  ? new BrowserClient(init.transport, {
      chromiumPath: init.browser.chromiumPath,
      perPage: init.browser.perPage,
      tag: launchTag(init.runId, init.workerIndex),
      originUrl: init.target.url,
      // Chromium cannot be given the run's extra CA: a page accepts the certificate only where the run itself was told to trust more than the system does.
      ignoreHttpsErrors: init.target.url.startsWith('https:') && (init.tlsTrust?.insecure === true || init.tlsTrust?.ca !== undefined),
    })
  : null;
const client = browserClient ?? (CLIENTS[init.transport] as TransportClient);
const liveConnections = browserClient ? () => browserClient.connectedCount() : connectedCount;
/** Where the live counters go when the pool shares memory with this thread (not a browser thread's: its pages count its connections). */
const cells = init.liveCells && !browserClient ? new LiveCells(init.liveCells) : null;
/** The browser's CPU time when the current step began. */
let browserCpuAtStepMs = 0;
const profile = await profileFromRef(init.profile);
const random = seededRandom(init.seed + init.workerIndex * 7919);
const addresses = init.localAddresses.length > 0 ? init.localAddresses : [undefined];
const contexts: ClientContext[] = addresses.map((localAddress) => ({
  resume: init.target.resume,
  reconnect: init.reconnect,
  connectTimeoutMs: init.target.connectTimeoutMs,
  random,
  ...(localAddress ? { localAddress } : {}),
  ...(init.target.http2 ? { http2: true } : {}),
}));

interface Held {
  readonly spec: SubscriberSpec;
  subscription: Subscription;
  /** Position in this step's recorder, or -1 while the subscriber is not being measured. */
  slot: number;
}

const held: Held[] = [];
let warm = new Set<number>();
/** Content without this run's marker that arrived while nothing was measured (warm-up): what a wrong `read()` yields. */
let foreign = 0;
let firstForeign = '';
let recorder: Recorder | null = null;
/** Stops keeping the thread awake around the current round's sends (a no-op when it is not). */
let stopKeepingAwake = (): void => {};
/**
 * Subscriber errors (disconnect reasons, bad frames), counted whether or not a round is being
 * measured and reported, cumulative, with the connection status: a soak's disconnect between two
 * rounds is counted like its disconnect count.
 */
const connectionErrors = new Map<string, number>();
let arrivals = 0;
/** How late this thread's own reads and their handling may have made its stamps. */
const ownDelay = new OwnDelayMeter();

function onMessage(subscriber: Held, content: string, receivedUs: number): void {
  arrivals++;
  cells?.setArrivals(arrivals);
  if (recorder && subscriber.slot >= 0) {
    ownDelay.note(ownWaitUs(receivedUs), recorder.recordArrival(subscriber.slot, content, receivedUs));
    return;
  }
  const marker = decodeMarker(content);
  if (marker?.group === WARMUP_GROUP && marker.runId === init.runId) warm.add(subscriber.spec.index);
  else if (marker?.runId !== init.runId) {
    if (foreign === 0) firstForeign = content.length > 80 ? `${content.slice(0, 80)}...` : content;
    foreign++;
  }
}

async function connect(specs: readonly SubscriberSpec[], concurrency: number): Promise<ConnectReply> {
  const histogram = newHistogram();
  const failed: Record<string, number> = {};
  const okByRoom: Record<number, number> = {};
  const protocols: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const one = async (spec: SubscriberSpec): Promise<void> => {
    const entry: Held = { spec, subscription: null as unknown as Subscription, slot: -1 };
    const startUs = nowUs();
    entry.subscription = client.subscribe(contexts[spec.index % contexts.length] as ClientContext, profile.subscription(subscriberContext(init.target, spec), init.provisioned, spec) as never, {
      onMessage: (content, receivedUs) => onMessage(entry, content, receivedUs),
      onError: (code) => connectionErrors.set(code, (connectionErrors.get(code) ?? 0) + 1),
    });
    try {
      await entry.subscription.ready;
      recordUs(histogram, nowUs() - startUs);
      held.push(entry);
      ok++;
      okByRoom[spec.room] = (okByRoom[spec.room] ?? 0) + 1;
      const protocol = entry.subscription.stats().protocol;
      if (protocol) protocols[protocol] = (protocols[protocol] ?? 0) + 1;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'CONNECT_FAILED';
      failed[code] = (failed[code] ?? 0) + 1;
      await entry.subscription.close();
    }
  };
  // Bounded concurrency: a fixed number of lanes, each opening one connection after another.
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, specs.length)) }, async () => {
    while (next < specs.length) await one(specs[next++] as SubscriberSpec);
  });
  await Promise.all(lanes);
  return { ok, okByRoom, failed, connectHistogram: encodeHistogram(histogram), connected: liveConnections(), ...(Object.keys(protocols).length > 0 ? { protocols } : {}) };
}

function measure(plan: ToWorker & { type: 'measure' }): void {
  held.forEach((entry, slot) => (entry.slot = slot));
  const current = new Recorder({ runId: init.runId, plan: plan.plan, deadlineUs: plan.deadlineUs ?? init.deadlineUs, subscriberRooms: held.map((h) => h.spec.room) });
  current.begin(plan.startUs);
  recorder = current;
  stopKeepingAwake();
  // A browser thread stamps nothing itself (its pages do): keeping it awake would only take a core from them.
  if (plan.keepAwake && !browserClient) {
    stopKeepingAwake = keepAwake(plan.plan.map((m) => plan.startUs + m.offsetUs).sort((a, b) => a - b));
  }
}

function connectionStatus(): ConnectionStatus {
  const stats = held.map((h) => h.subscription.stats());
  return {
    held: held.length,
    connected: stats.filter((s) => s.connected).length,
    disconnects: stats.reduce((n, s) => n + s.disconnects, 0),
    reconnects: stats.reduce((n, s) => n + s.reconnects, 0),
    failedAttempts: stats.reduce((n, s) => n + s.failedAttempts, 0),
    gaps: stats.reduce((n, s) => n + s.gaps, 0),
    sends: stats.reduce((n, s) => n + s.sends, 0),
    lastOpenedUs: stats.reduce((max, s) => Math.max(max, s.openedUs), 0),
    errors: Object.fromEntries(connectionErrors),
  };
}

async function stepResult(attempted: readonly number[]): Promise<StepReply> {
  if (browserClient) await browserClient.flush();
  const browser = browserClient ? await browserClient.status() : null;
  const current = recorder;
  if (!current) throw new Error('no step is being measured');
  for (const seq of attempted) current.markAttempted(seq);
  const stats = held.map((h) => h.subscription.stats());
  const times = current.arrivalTimes();
  const reply: StepReply = {
    result: current.result(nowUs()),
    firstUs: times.firstUs,
    lastUs: times.lastUs,
    count: times.count,
    connected: stats.filter((s) => s.connected).length,
    reconnects: stats.reduce((n, s) => n + s.reconnects, 0),
    gaps: stats.reduce((n, s) => n + s.gaps, 0),
    sends: stats.reduce((n, s) => n + s.sends, 0),
    ownDelay: ownDelay.snapshot(),
    ...(browser ? { browser: { ...browser, cpuMs: browser.cpuMs - browserCpuAtStepMs } } : {}),
  };
  recorder = null;
  stopKeepingAwake();
  for (const entry of held) entry.slot = -1;
  return reply;
}

async function waitComplete(untilUs: number): Promise<boolean> {
  const current = recorder;
  if (!current) return true;
  const controller = new AbortController();
  // Rounded up: a timer that fires a fraction of a millisecond early would judge still-missing
  // messages as pending instead of lost.
  const timer = setTimeout(() => controller.abort(), Math.max(0, Math.ceil((untilUs - nowUs()) / 1000) + 1));
  await current.waitFor(() => current.complete, controller.signal);
  clearTimeout(timer);
  return current.complete;
}

async function handle(message: ToWorker): Promise<unknown> {
  switch (message.type) {
    case 'connect':
      return connect(message.subscribers, message.concurrency);
    case 'warm-reset':
      warm = new Set();
      return null;
    case 'warm-status':
      return { warmed: warm.size, held: held.length, foreign, firstForeign } satisfies WarmStatus;
    case 'status':
      return connectionStatus();
    case 'heap':
      return heapAfterGc();
    case 'measure':
      measure(message);
      if (browserClient) {
        browserCpuAtStepMs = (await browserClient.status()).cpuMs;
        browserClient.resetStep();
      }
      // Thread health is judged on the measured part of a step only, not on connecting.
      gcPauseMaxUs = 0;
      cells?.takePauseMaxUs();
      ownDelay.reset();
      lastUtilization = performance.eventLoopUtilization();
      return null;
    case 'wait-complete':
      return waitComplete(message.untilUs);
    case 'result':
      return stepResult(message.attempted);
    case 'clock':
      // A fresh estimate of the offset (agents/coordinator.ts re-estimates it every minute).
      setClockOffsetUs(message.offsetUs);
      return null;
    case 'close':
      await Promise.all(held.map((h) => h.subscription.close()));
      held.length = 0;
      await browserClient?.shutdown();
      stopKeepingAwake();
      if (ticker) clearInterval(ticker);
      gcObserver.disconnect();
      return null;
  }
}

port.on('message', (message: ToWorker) => {
  // Reads taken before this message are handled first (a step's result holds every arrival stamped
  // before it was asked for), in slices: the sockets are still read meanwhile. The waits resolve in
  // the order the messages came.
  readsTakenSoFarHandled()
    .then(() => handle(message))
    .then(
      (value) => port.postMessage({ id: message.id, type: 'reply', value } satisfies FromWorker),
      (error: unknown) => port.postMessage({ id: message.id, type: 'error', message: (error as Error).message ?? String(error) } satisfies FromWorker),
    );
});

// Live counters and this thread's own load, so saturation is judged per thread, not per process.
// No event-loop delay monitor here: its timer would wake each worker 50 times a second, a cost per
// second that does not buy a measurement, since what delays a worker's stamps is bounded without
// it: its own reads and their handling by the own-delay meter, its
// busy share by the utilisation, and its garbage collection by the pauses observed below (V8
// reports each one; nothing wakes the thread to ask). The machine's own part (other processes, the
// VM, the server) is each thread's wait for a CPU, which the main thread's sampler reads from /proc
// once a second (core/thread-wait.ts).
//
// A thread of this process writes them into memory shared with the pool, which reads them (and this
// thread's utilisation) without waking it (live-cells.ts). A thread on an agent, or one that drives
// Chromium pages (whose connections the browser client counts), posts them every 500 ms instead.
let gcPauseMaxUs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const pauseUs = Math.round(entry.duration * 1000);
    if (cells) cells.notePause(pauseUs);
    else gcPauseMaxUs = Math.max(gcPauseMaxUs, pauseUs);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
if (cells) watchConnectedCount((connected) => cells.setConnected(connected));
let lastUtilization = performance.eventLoopUtilization();
const ticker = cells
  ? null
  : setInterval(() => {
      const utilization = performance.eventLoopUtilization(lastUtilization);
      lastUtilization = performance.eventLoopUtilization();
      port.postMessage({
        type: 'tick',
        connected: liveConnections(),
        arrivals,
        utilization: utilization.utilization,
        gcPauseMaxUs,
      } satisfies FromWorker);
      gcPauseMaxUs = 0;
    }, 500);
