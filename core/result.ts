import type { Environment } from './environment.js';
import type { LatencyStats } from './histogram.js';
import type { MessageCounts, ProcessUsage } from './counts.js';
import type { ScenarioDetails } from './details.js';

export type { MessageCounts, ProcessUsage } from './counts.js';


export interface RecorderResult {
  readonly messages: MessageCounts;
  /** Subscriber x burst pairs: ok when that subscriber got every message of that burst in time. */
  readonly subscriberBursts: { readonly ok: number; readonly failed: number; readonly pending: number };
  readonly latencyUs: Record<LatencyKind, LatencyStats>;
  readonly histograms: Record<LatencyKind, string>;
  readonly errors: Record<string, number>;
}

export type LatencyKind = 'perMessage' | 'burstCompletion' | 'fanOutSpread' | 'publishRtt' | 'sendLag';
export const LATENCY_KINDS: readonly LatencyKind[] = ['perMessage', 'burstCompletion', 'fanOutSpread', 'publishRtt', 'sendLag'];

/** Cumulative counters the scenario exposes; the sampler stores their change per interval. */
export interface LiveCounters {
  readonly connections: number;
  readonly sent: number;
  readonly received: number;
  /** True once the measured schedule has begun (connect and warm-up come before). */
  readonly measuring: boolean;
  /** Ramp step being run, if any. */
  readonly step?: number | null;
}

export interface SampleRow {
  /** Seconds since the sampler started, at the end of this interval. */
  readonly elapsedS: number;
  /** False for seconds spent connecting and warming up; saturation is judged on measured seconds only. */
  readonly measuring: boolean;
  /** Ramp step this second belongs to (null outside a ramp). */
  readonly step: number | null;
  readonly connections: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly serverCpuPct: number | null;
  readonly serverRssBytes: number | null;
  readonly generatorCpuPct: number | null;
  readonly generatorRssBytes: number | null;
  readonly proxyCpuPct: number | null;
  readonly proxyRssBytes: number | null;
  /**
   * p99 of the generator main thread's event-loop delay over the interval: how late its callbacks
   * ran. Null where the main thread stamps no arrival (subscribers in worker threads): there its
   * monitor's timer would cost more than it tells, and the machine's part is in the next field.
   */
  readonly eventLoopDelayP99Us: number | null;
  /**
   * The longest any generator thread waited for a CPU over the interval (µs, Linux's per-thread
   * run-queue wait; null elsewhere): an upper bound of how late the machine made any of its stamps.
   * Absent in runs made before it was recorded.
   */
  readonly generatorCpuWaitUs?: number | null;
}


export type Role = 'server' | 'generator' | 'proxy';

/**
 * The shape of summary.json. Documented field by field in docs/summary-schema.md; bump
 * SCHEMA_VERSION whenever a field changes meaning or is removed (adding one is compatible).
 */
export const SCHEMA_ID = 'rtbench.summary';
export const SCHEMA_VERSION = 3;
/** The versions rtbench's readers (report, compare) understand; docs/summary-schema.md lists what changed. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3];

export type RunState = 'completed' | 'failed' | 'aborted';

export interface GeneratorUsage extends ProcessUsage {
  /** True when rtbench itself, not the server, may have limited the numbers. */
  readonly saturated: boolean;
  readonly saturationReasons: readonly string[];
  /** Highest per-second p99 of the main thread's event-loop delay; null when it was not monitored (see SampleRow). */
  readonly eventLoopDelayP99UsMax: number | null;
  /** Longest wait for a CPU of any generator thread within one second, over the measured seconds (µs; null where not read). */
  readonly cpuWaitUsMax?: number | null;
  /**
   * The generator's own timestamping delay (core/own-delay.ts): the largest per-arrival bound of
   * any of its threads, and the p99 over arrivals of that bound (µs, null when nothing arrived).
   * In schema version 1 the first was the longest run of receive handlers in one event-loop turn.
   */
  readonly ownDelayUsMax?: number;
  readonly ownDelayP99Us?: number | null;
}

export interface TransportResult {
  readonly transport: string;
  readonly scenario: string;
  /** With `--repeat N`: which run of the N this is (1-based); absent for a single run. */
  readonly repeat?: number;
  /** This transport run's id (in its rooms and markers); each repeat has its own. */
  readonly runId?: string;
  readonly state: RunState;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The full configuration of this run, common and scenario options alike. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly environment: Environment;
  /** `built-in` or the `--target` URL. */
  readonly server: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly latencyUs: Readonly<Record<LatencyKind, LatencyStats>>;
  readonly messages: MessageCounts;
  /** Subscriber x burst pairs; ok when that subscriber received the whole burst within the deadline. */
  readonly subscriberBursts: { readonly ok: number; readonly failed: number; readonly pending: number };
  /** `sends`: frames and texts profiles sent on their subscriptions (joins, pongs); absent before it was recorded. */
  readonly connections: {
    readonly subscribers: number;
    readonly reconnects: number;
    readonly gaps: number;
    readonly sends?: number;
    /** Subscribers connected over each HTTP protocol their TLS connection took (`h2`, `http/1.1`): SSE and long polling with --http2, any https target; absent over plain HTTP. */
    readonly protocols?: Readonly<Record<string, number>>;
  };
  readonly errors: Readonly<Record<string, number>>;
  /** CPU and RSS of the built-in server process; null for `--target` (not ours to sample). */
  readonly serverUsage: ProcessUsage | null;
  /** Why some of the server's figures are missing (a metrics endpoint that failed or lied), each once. */
  readonly serverUsageNotes?: readonly string[];
  /**
   * The CPUs the built-in server (its first instance) and rtbench could run on, as the kernel said
   * (`Cpus_allowed_list`: the whole machine unless pinned with --server-cpus / --generator-cpus);
   * null where not known. Absent in runs made before it was recorded.
   */
  readonly cpus?: { readonly server: string | null; readonly generator: string | null };
  readonly generator: GeneratorUsage;
  /** CPU and RSS of the delay proxy process; null when no delay was asked for. */
  readonly proxyUsage: ProcessUsage | null;
  /** HdrHistogram V2 compressed base64, one per latency kind, to merge or re-read at any precision. */
  readonly histograms: Readonly<Record<LatencyKind, string>>;
  /** What this scenario adds (core/details.ts): a ramp's steps and breaking point, a soak's intervals... */
  readonly details: ScenarioDetails | null;
  /**
   * Per-second resource samples (also in samples.csv). An array once read from summary.json; during a
   * run, the sampler's log, most of which is on disk (run/sample-log.ts), so it is only iterated.
   */
  readonly samples: Iterable<SampleRow>;
}

export interface RunSummary {
  readonly schema: typeof SCHEMA_ID;
  /** SCHEMA_VERSION when written; older summaries read back may carry an earlier one of READABLE_SCHEMA_VERSIONS. */
  readonly schemaVersion: number;
  readonly runId: string;
  readonly scenario: string;
  readonly state: RunState;
  /** Present (true) on a summary written during the run; if rtbench is no longer running, it stopped there. */
  readonly checkpoint?: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: readonly string[];
  readonly environment: Environment;
  readonly transports: readonly TransportResult[];
}


/** summary.json as written to disk (docs/summary.schema.json is generated from this type): samples are an array there. */
export interface SummaryFile extends Omit<RunSummary, 'transports'> {
  readonly transports: readonly TransportResultFile[];
}

export interface TransportResultFile extends Omit<TransportResult, 'samples'> {
  readonly samples: readonly SampleRow[];
}
