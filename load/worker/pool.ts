import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { type Histogram, mergeEncoded, newHistogram, recordUs } from '../../core/histogram.js';
import { programPath } from '../../core/entry-points.js';
import { NO_OWN_DELAY, type OwnDelay, mergeOwnDelay } from '../../core/own-delay.js';
import type { PlannedMessage } from '../recorder.js';
import type { ConnectReply, ConnectionStatus, FromWorker, PoolMember, StepReply, SubscriberSpec, Tick, ToWorker, WorkerInit } from './protocol.js';
import { type MessageCounts } from '../../core/result.js';
import type { HeapAfterGc } from '../../core/heap.js';
import { LiveCells } from './live-cells.js';

/** How often the utilisation of a thread that shares its counters is read: the window of `utilizationMax`, as a posted tick's. */
const TICK_MS = 500;

/** A thread of this process and the live counters it shares (live-cells.ts). */
interface SharingThread {
  readonly index: number;
  readonly worker: Worker;
  readonly cells: LiveCells;
}

type Request = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

export interface ThreadHealth {
  /** Highest event-loop utilisation (0..1) any worker reported in one 500 ms tick. */
  readonly utilizationMax: number;
  /** Longest garbage-collection pause any worker reported (µs): a stretch in which it read and stamped nothing. */
  readonly gcPauseUsMax: number;
}

/** Subscribers that got a warm-up message, of those held; and what arrived without this run's marker. */
export interface WarmStatus {
  readonly warmed: number;
  readonly held: number;
  /** Absent from an agent of an older build. */
  readonly foreign?: number;
  readonly firstForeign?: string;
}

/** Threads elsewhere that take a share of the subscribers: the run's agents (agents/coordinator.ts). */
export interface RemoteThreads {
  members(threads: number, init: WorkerInit): PoolMember[];
}

/**
 * The main thread's handle on the subscriber workers: its own threads, and those of the run's
 * agents if it has any, all alike. Subscribers are dealt round-robin, so the count opened is
 * exactly the count asked for however many workers there are.
 */
export class SubscriberPool {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly ticks: Tick[];
  private nextId = 1;
  private health = { utilizationMax: 0, gcPauseUsMax: 0 };
  private runOwnDelay: OwnDelay = NO_OWN_DELAY;
  /** The threads that share their live counters, with their loops' utilisation when last read. */
  private readonly shared: Array<SharingThread & { utilization: EventLoopUtilization }>;
  /** By worker index: the shared counters of the threads that have them. */
  private readonly cellsOf: ReadonlyArray<LiveCells | undefined>;
  private readonly sharedTicker: NodeJS.Timeout | null;

  /**
   * `workers` holds this process's own threads first, `localCount` of them, then the agents', then
   * the browser threads from `browserFrom`; `sharing`, those that share their live counters.
   */
  private constructor(
    private readonly workers: readonly PoolMember[],
    private readonly localCount: number,
    private readonly browserFrom: number = workers.length,
    sharing: readonly SharingThread[] = [],
  ) {
    this.ticks = workers.map(() => ({ type: 'tick', connected: 0, arrivals: 0, utilization: 0, gcPauseMaxUs: 0 }));
    this.shared = sharing.map((thread) => ({ ...thread, utilization: thread.worker.performance.eventLoopUtilization() }));
    this.cellsOf = workers.map((_, index) => sharing.find((thread) => thread.index === index)?.cells);
    this.sharedTicker = this.shared.length > 0 ? setInterval(() => this.readShared(), TICK_MS) : null;
    this.sharedTicker?.unref();
    workers.forEach((worker, index) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'tick') return this.onTick(index, message);
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === 'error') waiter?.reject(new Error(`worker ${index}: ${message.message}`));
        else waiter?.resolve(message.value);
      });
      worker.on('error', (error) => this.failAll(error));
      worker.on('exit', (code) => {
        if (code !== 0) this.failAll(new Error(`worker ${index} exited with code ${code}`));
      });
    });
  }

  /** `count` threads here, and `count` on each agent of `remote`; and with `browser`, one more thread here whose subscribers are Chromium pages. */
  static start(count: number, init: WorkerInit, remote?: RemoteThreads | null, browser?: WorkerInit['browser']): SubscriberPool {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`worker count must be an integer >= 1, got ${count}`);
    const entry = programPath('subscriberWorker');
    const sharing = Array.from({ length: count }, (_, index): SharingThread => {
      const cells = new LiveCells();
      return { index, cells, worker: new Worker(entry, { workerData: { ...init, workerIndex: index, liveCells: cells.buffer } }) };
    });
    const local: PoolMember[] = sharing.map((thread) => thread.worker);
    const members = [...local, ...(remote?.members(count, init) ?? [])];
    const browsers: PoolMember[] = browser ? [new Worker(entry, { workerData: { ...init, browser, workerIndex: members.length } })] : [];
    return new SubscriberPool([...members, ...browsers], local.length, members.length, sharing);
  }

  /** The workers of one kind (Node threads here and on agents, or browser threads); all without one. */
  private indexesOf(kind?: 'node' | 'browser'): number[] {
    return this.workers.map((_, index) => index).filter((index) => kind === undefined || (index >= this.browserFrom) === (kind === 'browser'));
  }

  /** Replies of `results()` from Node subscriber threads, and from browser threads. */
  byKind<T>(replies: readonly T[]): { node: T[]; browser: T[] } {
    return { node: replies.slice(0, this.browserFrom), browser: replies.slice(this.browserFrom) };
  }

  get size(): number {
    return this.workers.length;
  }

  private onTick(index: number, tick: Tick): void {
    this.ticks[index] = tick;
    this.health.utilizationMax = Math.max(this.health.utilizationMax, tick.utilization);
    this.health.gcPauseUsMax = Math.max(this.health.gcPauseUsMax, tick.gcPauseMaxUs);
  }

  /** A tick for each thread that shares its counters, read here, with its loop's utilisation (read from this thread too). */
  private readShared(): void {
    for (const thread of this.shared) {
      const now = thread.worker.performance.eventLoopUtilization();
      // A thread not yet started or already gone reads all zeros: no window to judge.
      const utilization = now.idle + now.active > 0 ? thread.worker.performance.eventLoopUtilization(now, thread.utilization).utilization : 0;
      thread.utilization = now;
      const { connected, arrivals } = thread.cells;
      this.onTick(thread.index, { type: 'tick', connected, arrivals, utilization, gcPauseMaxUs: thread.cells.takePauseMaxUs() });
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private call<T>(index: number, request: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      (this.workers[index] as PoolMember).postMessage({ ...request, id } as ToWorker);
    });
  }

  private all<T>(request: Request): Promise<T[]> {
    return Promise.all(this.workers.map((_, index) => this.call<T>(index, request)));
  }

  /** Splits `specs` round-robin over the workers of one kind (Node threads, or browser threads); each opens its share with its part of `concurrency`. */
  async connect(
    specs: readonly SubscriberSpec[],
    concurrency: number,
    kind: 'node' | 'browser' = 'node',
  ): Promise<{ ok: number; okByRoom: Record<number, number>; failed: Record<string, number>; connectUs: Histogram }> {
    const indexes = this.indexesOf(kind);
    if (indexes.length === 0) throw new RangeError(`this pool has no ${kind} subscriber threads`);
    const shares: SubscriberSpec[][] = indexes.map(() => []);
    specs.forEach((spec, position) => shares[position % shares.length]?.push(spec));
    const perWorker = Math.max(1, Math.ceil(concurrency / indexes.length));
    const replies = await Promise.all(shares.map((share, at) => this.call<ConnectReply>(indexes[at] as number, { type: 'connect', subscribers: share, concurrency: perWorker })));
    // A tick sent before the reply arrived before it (one port, in order): the reply's count is the newer.
    replies.forEach((reply, at) => {
      const index = indexes[at] as number;
      this.ticks[index] = { ...(this.ticks[index] as Tick), connected: reply.connected };
    });
    const failed: Record<string, number> = {};
    const okByRoom: Record<number, number> = {};
    const protocols: Record<string, number> = {};
    for (const reply of replies) {
      for (const [protocol, n] of Object.entries(reply.protocols ?? {})) protocols[protocol] = (protocols[protocol] ?? 0) + n;
      for (const [code, n] of Object.entries(reply.failed)) failed[code] = (failed[code] ?? 0) + n;
      for (const [room, n] of Object.entries(reply.okByRoom)) okByRoom[Number(room)] = (okByRoom[Number(room)] ?? 0) + n;
    }
    if (Object.keys(protocols).length > 0) this.protocolListener(protocols);
    return { ok: replies.reduce((n, r) => n + r.ok, 0), okByRoom, failed, connectUs: mergeEncoded(replies.map((r) => r.connectHistogram)) };
  }

  private protocolListener: (protocols: Readonly<Record<string, number>>) => void = () => {};

  /** Told, after each connect, how many subscribers it connected over each HTTP protocol (TLS only). */
  onProtocols(listener: (protocols: Readonly<Record<string, number>>) => void): void {
    this.protocolListener = listener;
  }

  async warmReset(): Promise<void> {
    await this.all({ type: 'warm-reset' });
  }

  async warmStatus(): Promise<WarmStatus> {
    const replies = await this.all<WarmStatus>({ type: 'warm-status' });
    return {
      warmed: replies.reduce((n, r) => n + r.warmed, 0),
      held: replies.reduce((n, r) => n + r.held, 0),
      foreign: replies.reduce((n, r) => n + (r.foreign ?? 0), 0),
      firstForeign: replies.find((r) => r.firstForeign)?.firstForeign ?? '',
    };
  }

  async measure(plan: readonly PlannedMessage[], startUs: number, deadlineUs?: number, keepAwake = false): Promise<void> {
    await this.all({ type: 'measure', plan, startUs, keepAwake, ...(deadlineUs === undefined ? {} : { deadlineUs }) });
    // As a thread that posts ticks starts its window over on `measure`, the shared ones start theirs here.
    for (const thread of this.shared) thread.utilization = thread.worker.performance.eventLoopUtilization();
  }

  /** Resolves true when every worker has every expected message, false at `untilUs`. */
  async waitComplete(untilUs: number): Promise<boolean> {
    return (await this.all<boolean>({ type: 'wait-complete', untilUs })).every(Boolean);
  }

  /** Each worker's step result; `attempted` are the messages the publisher actually sent. */
  async results(attempted: readonly number[]): Promise<StepReply[]> {
    const replies = await this.all<StepReply>({ type: 'result', attempted });
    this.runOwnDelay = mergeOwnDelay([this.runOwnDelay, ...replies.map((r) => r.ownDelay)]);
    return replies;
  }

  /** Connection counters summed over the workers (of one kind, when asked: Node threads, or browser threads). */
  async status(kind?: 'node' | 'browser'): Promise<ConnectionStatus> {
    const indexes = this.indexesOf(kind);
    const parts = await Promise.all(indexes.map((index) => this.call<ConnectionStatus>(index, { type: 'status' })));
    const sum = (key: Exclude<keyof ConnectionStatus, 'lastOpenedUs' | 'errors'>): number => parts.reduce((n, p) => n + p[key], 0);
    const errors: Record<string, number> = {};
    for (const part of parts) for (const [code, n] of Object.entries(part.errors)) errors[code] = (errors[code] ?? 0) + n;
    return {
      held: sum('held'),
      connected: sum('connected'),
      disconnects: sum('disconnects'),
      reconnects: sum('reconnects'),
      failedAttempts: sum('failedAttempts'),
      gaps: sum('gaps'),
      sends: sum('sends'),
      lastOpenedUs: parts.reduce((max, p) => Math.max(max, p.lastOpenedUs), 0),
      errors,
    };
  }

  /**
   * A full GC in each worker thread, then the heap in use summed over all of them (what a leak would
   * grow), and the heap resident summed over this process's own threads (an agent's threads are
   * resident in the agent's process, not in this one's RSS).
   */
  async heapAfterGc(): Promise<{ usedBytes: number; localResidentBytes: number }> {
    const replies = await this.all<HeapAfterGc>({ type: 'heap' });
    return {
      usedBytes: replies.reduce((n, r) => n + r.usedBytes, 0),
      localResidentBytes: replies.slice(0, this.localCount).reduce((n, r) => n + r.residentBytes, 0),
    };
  }

  /** Live counters: current for the threads that share them, from the latest tick (at most 500 ms old) for the others. */
  live(): { connected: number; arrivals: number } {
    let connected = 0;
    let arrivals = 0;
    this.ticks.forEach((tick, index) => {
      const now = this.cellsOf[index] ?? tick;
      connected += now.connected;
      arrivals += now.arrivals;
    });
    return { connected, arrivals };
  }

  /** Worst thread health since the last call, then starts over (one reading per step). */
  takeHealth(): ThreadHealth {
    const health = this.health;
    this.health = { utilizationMax: 0, gcPauseUsMax: 0 };
    return health;
  }

  /** The workers' own timestamping delay over every step whose results were taken. */
  get ownDelay(): OwnDelay {
    return this.runOwnDelay;
  }

  async close(): Promise<void> {
    if (this.sharedTicker) clearInterval(this.sharedTicker);
    await Promise.race([this.all({ type: 'close' }).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

export interface MergedStep {
  readonly messages: MessageCounts;
  /** Subscriber x group pairs, added up: each pair lives in one worker. */
  readonly subscriberBursts: { ok: number; failed: number; pending: number };
  readonly perMessage: Histogram;
  readonly fanOutSpread: Histogram;
  /** Per group: scheduled send of its first message to the last arrival of its last, over every worker. */
  readonly burstCompletion: Histogram;
  readonly errors: Record<string, number>;
  readonly connected: number;
  readonly reconnects: number;
  readonly gaps: number;
  readonly sends: number;
  /** The workers' own timestamping delay during the step, merged. */
  readonly ownDelay: OwnDelay;
}

/**
 * Merges the workers' step results: counts add up, histograms merge, and fan-out spread is
 * recomputed from each worker's first and last arrival per message, since the first subscriber to
 * get a message and the last may live in different threads.
 */
export function mergeStep(replies: readonly StepReply[], plan: readonly PlannedMessage[], audienceOfRoom: (room: number) => number, startUs = 0): MergedStep {
  const messages = { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 };
  const subscriberBursts = { ok: 0, failed: 0, pending: 0 };
  const errors: Record<string, number> = {};
  for (const reply of replies) {
    for (const key of Object.keys(messages) as Array<keyof MessageCounts>) messages[key] += reply.result.messages[key];
    for (const key of ['ok', 'failed', 'pending'] as const) subscriberBursts[key] += reply.result.subscriberBursts[key];
    for (const [code, n] of Object.entries(reply.result.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  // A group (burst) is complete when each of its messages reached its whole audience in time.
  const groups = new Map<number, { firstOffsetUs: number; lastUs: number; complete: boolean }>();
  const fanOutSpread = newHistogram();
  for (const planned of plan) {
    let count = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const reply of replies) {
      const n = reply.count[planned.seq] ?? 0;
      if (n === 0) continue;
      count += n;
      first = Math.min(first, reply.firstUs[planned.seq] ?? first);
      last = Math.max(last, reply.lastUs[planned.seq] ?? last);
    }
    const audience = audienceOfRoom(planned.room ?? 0);
    if (audience > 0 && count === audience) recordUs(fanOutSpread, last - first);
    const group = groups.get(planned.group) ?? { firstOffsetUs: planned.offsetUs, lastUs: Number.NEGATIVE_INFINITY, complete: true };
    group.firstOffsetUs = Math.min(group.firstOffsetUs, planned.offsetUs);
    group.lastUs = Math.max(group.lastUs, last);
    group.complete &&= audience > 0 && count === audience;
    groups.set(planned.group, group);
  }
  const burstCompletion = newHistogram();
  for (const group of groups.values()) if (group.complete) recordUs(burstCompletion, group.lastUs - (startUs + group.firstOffsetUs));
  return {
    messages,
    subscriberBursts,
    perMessage: mergeEncoded(replies.map((r) => r.result.histograms.perMessage)),
    fanOutSpread,
    burstCompletion,
    errors,
    connected: replies.reduce((n, r) => n + r.connected, 0),
    reconnects: replies.reduce((n, r) => n + r.reconnects, 0),
    gaps: replies.reduce((n, r) => n + r.gaps, 0),
    sends: replies.reduce((n, r) => n + r.sends, 0),
    ownDelay: mergeOwnDelay(replies.map((r) => r.ownDelay)),
  };
}
