import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import pidusage from 'pidusage';
import { MetricsCpu, readMetrics } from './prometheus.js';
import { LOOP_RESOLUTION_MS, loopDelayUs } from '../core/loop-delay.js';
import { ThreadWaitMeter } from '../core/thread-wait.js';
import { withDescendants } from '../core/process-tree.js';
import { procStat } from '../core/proc-stat.js';
import { SampleLog } from './sample-log.js';

import type { LiveCounters, ProcessUsage, Role, SampleRow } from '../core/result.js';
import { redactUrl } from '../core/redact.js';

/** Linux: processes are read from /proc; elsewhere through pidusage (ps). */
const HAS_PROC = process.platform === 'linux';

/** CPU average and maximum and RSS maximum of one process, folded one row at a time. */
export class UsageFold {
  private cpuSum = 0;
  private cpuCount = 0;
  private cpuMax = -Infinity;
  private rssMax: number | null = null;

  constructor(private readonly role: Role) {}

  add(row: SampleRow): void {
    const cpu = row[`${this.role}CpuPct`];
    const rss = row[`${this.role}RssBytes`];
    if (cpu !== null) {
      this.cpuSum += cpu;
      this.cpuCount++;
      this.cpuMax = Math.max(this.cpuMax, cpu);
    }
    if (rss !== null) this.rssMax = Math.max(this.rssMax ?? rss, rss);
  }

  /** Nulls where the process was not sampled. */
  result(): ProcessUsage {
    const sampled = this.cpuCount > 0;
    return { cpuPctAvg: sampled ? round1(this.cpuSum / this.cpuCount) : null, cpuPctMax: sampled ? this.cpuMax : null, rssBytesMax: this.rssMax };
  }
}

/** CPU average and maximum and RSS maximum of one process over some rows; nulls where it was not sampled. */
export function usageOfRows(rows: Iterable<SampleRow>, role: Role): ProcessUsage {
  const fold = new UsageFold(role);
  for (const row of rows) fold.add(row);
  return fold.result();
}

/**
 * What a result reports of a run's sampled seconds (each process's usage, the highest event-loop
 * delay and CPU wait), folded as the rows are read. A checkpoint of a long run reads every row back
 * from disk; keeping them in an array meanwhile would be garbage of the run's length at every
 * checkpoint, holding the generator's RSS up until the next GC in a long soak.
 */
export class RowsSummary {
  count = 0;
  readonly usage: Readonly<Record<Role, UsageFold>> = { server: new UsageFold('server'), generator: new UsageFold('generator'), proxy: new UsageFold('proxy') };
  private readonly folds = Object.values(this.usage);
  private readonly loopDelay = new HighestFold((row) => row.eventLoopDelayP99Us);
  private readonly cpuWait = new HighestFold(cpuWaitOfArrival);

  add(row: SampleRow): void {
    this.count++;
    for (const fold of this.folds) fold.add(row);
    this.loopDelay.add(row);
    this.cpuWait.add(row);
  }

  get eventLoopDelayP99UsMax(): number | null {
    return this.loopDelay.max;
  }

  get cpuWaitUsMax(): number | null {
    return this.cpuWait.max;
  }
}

/** The summary of some rows, in one pass. */
export function summarizeRows(rows: Iterable<SampleRow>): RowsSummary {
  const summary = new RowsSummary();
  for (const row of rows) summary.add(row);
  return summary;
}

/** CPU time used between two readings as a percentage of one core; null when no time passed. */
export function cpuPercent(previous: { cpuMs: number; atMs: number }, current: { cpuMs: number; atMs: number }): number | null {
  const elapsedMs = current.atMs - previous.atMs;
  return elapsedMs > 0 ? ((current.cpuMs - previous.cpuMs) / elapsedMs) * 100 : null;
}
const MIN_INTERVAL_MS = 500;
/** A metrics endpoint that has not answered within this is read as missing for that second. */
const METRICS_TIMEOUT_MS = 800;

/** Where the server's CPU and memory come from when rtbench did not start it (`--server-pid`, `--server-metrics`). */
export type ExternalServer = { readonly pids: readonly number[] } | { readonly metricsUrl: string };

/**
 * Samples CPU and RSS of the server, the load generator and the proxy once per interval (the other
 * processes' /proc entries, or pidusage where there is no /proc; rtbench reads its own counters), plus how long the
 * generator's threads waited for a CPU and, where its main thread stamps arrivals, that thread's
 * event-loop delay. CPU is the share of one core between two readings.
 */
export class ResourceSampler {
  /** Every row, in order; older ones on disk (see sample-log.ts), so a week's soak holds no more than a minute's. */
  readonly rows = new SampleLog();
  private pids: Partial<Record<Role, number | readonly number[]>>;
  private readonly loopDelay: IntervalHistogram | null;
  private readonly cpuWait = new ThreadWaitMeter();
  private timer: NodeJS.Timeout | null = null;
  private startedMs = 0;
  private lastSampleMs = 0;
  private last: LiveCounters = { connections: 0, sent: 0, received: 0, measuring: false };
  private sampling: Promise<void> = Promise.resolve();
  private readonly cpuBaseline = new Map<number, { cpuMs: number; atMs: number }>();
  private readonly external: ExternalServer | null;
  private readonly metricsCpu = new MetricsCpu();
  /** What kept a figure from being read, each said once (a metrics endpoint that failed or lied). */
  private readonly noteSet = new Set<string>();

  constructor(
    /** One pid per role, or several (a cluster's instances: their CPU and RSS are added up). */
    pids: Partial<Record<Role, number | readonly number[]>>,
    private readonly counters: () => LiveCounters,
    private readonly intervalMs = 1000,
    options: {
      /**
       * Monitor the main thread's event-loop delay (default). Only worth it where that thread
       * stamps arrivals (a burst's subscribers): the monitor's timer wakes it 50 times a second,
       * and the CPU wait read every second already bounds what the machine did to every thread.
       */
      readonly loopMonitor?: boolean;
      /** The server is the user's: its processes (and their children), or its metrics endpoint. */
      readonly externalServer?: ExternalServer | null;
    } = {},
  ) {
    this.pids = pids;
    this.external = options.externalServer ?? null;
    this.loopDelay = options.loopMonitor === false ? null : monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  }

  /** A process was replaced (server restart): sample the new pid from now on. */
  setPid(role: Role, pid: number | readonly number[]): void {
    this.pids = { ...this.pids, [role]: pid }; // its first reading sets a new baseline
  }

  async start(): Promise<void> {
    await this.usage(); // sets each pid's CPU baseline; shares are measured from here
    this.cpuWait.readUs(); // likewise for the threads' waits
    this.loopDelay?.enable();
    this.startedMs = performance.now();
    this.lastSampleMs = this.startedMs;
    this.last = this.counters();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * CPU share since the previous reading and current RSS, per role: a process's cumulative CPU time
   * (/proc, pidusage's `ctime`, or for rtbench itself process.cpuUsage) divided by our own monotonic
   * interval, one pid at a time. pidusage's own `cpu` figure is not used: it divides by an uptime
   * held in one module-wide variable that concurrent calls overwrite, which under load produced
   * readings of thousands of percent. The first reading of a pid only sets its baseline.
   */
  private async usage(): Promise<Partial<Record<Role, { cpu: number | null; memory: number | null }>>> {
    const out: Partial<Record<Role, { cpu: number | null; memory: number | null }>> = {};
    const pidsOf = { ...this.pids };
    if (this.external && 'pids' in this.external) pidsOf.server = this.external.pids.flatMap(withDescendants);
    if (this.external && 'metricsUrl' in this.external) out.server = await this.metricsUsage(this.external.metricsUrl);
    for (const [role, pids] of Object.entries(pidsOf) as Array<[Role, number | readonly number[]]>) {
      let cpu: number | null = 0;
      let memory = 0;
      let complete = true;
      for (const pid of typeof pids === 'number' ? [pids] : pids) {
        const reading = await this.readPid(pid);
        // An instance with no reading this second (restarting, gone): the role's sum would be short.
        if (reading === null) complete = false;
        else {
          cpu = cpu === null || reading.cpu === null ? null : cpu + reading.cpu;
          memory += reading.memory;
        }
      }
      if (complete) out[role] = { cpu, memory };
    }
    return out;
  }

  /** The server's usage from its metrics endpoint; a figure it cannot give is null, with a note. */
  private async metricsUsage(url: string): Promise<{ cpu: number | null; memory: number | null }> {
    const reading = await readMetrics(url, METRICS_TIMEOUT_MS);
    const { cpuPct, problem } = this.metricsCpu.share(reading, performance.now());
    for (const why of [...reading.problems, ...(problem ? [problem] : [])]) this.noteSet.add(`server metrics at ${redactUrl(url)}: ${why}; the server's figures it could not give are left empty`);
    return { cpu: cpuPct, memory: reading.rssBytes };
  }

  /** Why some of the server's figures are missing, each once. */
  notes(): string[] {
    return [...this.noteSet];
  }

  private async readPid(pid: number): Promise<{ cpu: number | null; memory: number } | null> {
    let cpuMs: number;
    let memory: number;
    try {
      if (pid === process.pid) {
        const { user, system } = process.cpuUsage();
        cpuMs = (user + system) / 1000;
        memory = process.memoryUsage.rss();
      } else if (HAS_PROC) {
        // One synchronous read of /proc/<pid>/stat, where pidusage made four asynchronous ones
        // (the stat file and /proc/uptime, through the thread pool) each second for each pid.
        const stat = procStat(pid);
        if (stat === null) return null;
        cpuMs = stat.cpuMs;
        memory = stat.rssBytes;
      } else {
        const stat = await pidusage(pid);
        cpuMs = stat.ctime;
        memory = stat.memory;
      }
    } catch {
      // The process is gone (a restart in progress, or it died), or no descriptor was free to
      // read /proc: this second has no reading. A sampler never ends a run.
      return null;
    }
    const reading = { cpuMs, atMs: performance.now() };
    const previous = this.cpuBaseline.get(pid);
    this.cpuBaseline.set(pid, reading);
    return { cpu: previous ? cpuPercent(previous, reading) : null, memory };
  }

  private async sample(final = false): Promise<void> {
    // CPU time advances in 10 ms ticks: a share computed over a few milliseconds is noise (it can
    // read thousands of percent), so an interval shorter than this is not sampled.
    if (this.rows.length > 0 && performance.now() - this.lastSampleMs < MIN_INTERVAL_MS) {
      if (final) this.foldTail();
      return;
    }
    const usage = await this.usage();
    const now = performance.now();
    const counters = this.counters();
    this.rows.append({
      elapsedS: Math.round((now - this.startedMs) / 100) / 10,
      measuring: counters.measuring,
      step: counters.step ?? null,
      connections: counters.connections,
      messagesSent: counters.sent - this.last.sent,
      messagesReceived: counters.received - this.last.received,
      serverCpuPct: usage.server?.cpu != null ? round1(usage.server.cpu) : null,
      serverRssBytes: usage.server?.memory ?? null,
      generatorCpuPct: usage.generator?.cpu != null ? round1(usage.generator.cpu) : null,
      generatorRssBytes: usage.generator?.memory ?? null,
      proxyCpuPct: usage.proxy?.cpu != null ? round1(usage.proxy.cpu) : null,
      proxyRssBytes: usage.proxy?.memory ?? null,
      eventLoopDelayP99Us: this.loopDelay ? loopDelayUs(this.loopDelay.percentile(99), LOOP_RESOLUTION_MS) : null,
      generatorCpuWaitUs: this.pids.generator === process.pid ? this.cpuWait.readUs() : null,
    });
    this.loopDelay?.reset();
    this.last = counters;
    this.lastSampleMs = now;
  }

  /**
   * The messages of a last interval too short for a CPU share go to the previous row, so the rows'
   * counts add up to the run's (a burst's last messages could otherwise fall in no row). Between
   * readings nothing is lost: counts not yet in a row are in the next one.
   */
  private foldTail(): void {
    const counters = this.counters();
    const last = this.rows.last() as SampleRow;
    this.rows.replaceLast({
      ...last,
      messagesSent: last.messagesSent + counters.sent - this.last.sent,
      messagesReceived: last.messagesReceived + counters.received - this.last.received,
    });
    this.last = counters;
  }

  /** Stops sampling; a last partial interval is its own row if it is long enough to mean something. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sampling;
    await this.sample(true);
    this.loopDelay?.disable();
    this.cpuWait.close();
    pidusage.clear();
  }

  /**
   * The measured seconds, or every second when the run stopped before measuring began, summarized in
   * one pass over the log (most of a long run's rows are read back from disk): take it once and hand
   * it to the methods below.
   */
  judged(): RowsSummary {
    const measured = new RowsSummary();
    const all = new RowsSummary();
    for (const row of this.rows) {
      all.add(row);
      if (row.measuring) measured.add(row);
    }
    return measured.count > 0 ? measured : all;
  }

  usageOf(role: Role, judged: RowsSummary = this.judged()): ProcessUsage | null {
    const sampled = this.pids[role] !== undefined || (role === 'server' && this.external !== null);
    return sampled ? judged.usage[role].result() : null;
  }

  /** Takes a sample now (in turn with the periodic ones, unless one was just taken) and returns the latest. */
  async sampleNow(): Promise<SampleRow | undefined> {
    this.sampling = this.sampling.then(() => this.sample());
    await this.sampling;
    return this.rows.last();
  }

  /** Highest per-interval p99 of the generator's event-loop delay, over the measured seconds; null when not monitored. */
  eventLoopDelayP99UsMax(judged: RowsSummary = this.judged()): number | null {
    return this.loopDelay ? judged.eventLoopDelayP99UsMax : null;
  }

  /** Longest wait for a CPU of any generator thread within one interval, over the measured seconds; null when never read. */
  cpuWaitUsMax(judged: RowsSummary = this.judged()): number | null {
    return judged.cpuWaitUsMax;
  }
}

/**
 * A second's wait for a CPU, if it stamped arrivals: a wait in a second with none (connecting
 * thousands of subscribers keeps every thread waiting) delayed no latency figure.
 */
function cpuWaitOfArrival(row: SampleRow): number | null {
  return row.messagesReceived > 0 ? (row.generatorCpuWaitUs ?? null) : null;
}

/** The longest wait for a CPU over the seconds that stamped arrivals. */
export function cpuWaitOfArrivals(rows: Iterable<SampleRow>): number | null {
  const fold = new HighestFold(cpuWaitOfArrival);
  for (const row of rows) fold.add(row);
  return fold.max;
}

/** The largest value read over some rows, one row at a time; null while none was read. */
class HighestFold {
  max: number | null = null;

  constructor(private readonly valueOf: (row: SampleRow) => number | null) {}

  add(row: SampleRow): void {
    const value = this.valueOf(row);
    if (value !== null) this.max = Math.max(this.max ?? value, value);
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
