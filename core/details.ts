import type { MessageCounts, ProcessUsage } from './counts.js';
import type { LatencyStats } from './histogram.js';

/**
 * What each scenario writes into a transport's result as `details`, one type per scenario, told
 * apart by `details.scenario`. The scenarios produce these and every reader (report tables,
 * thresholds, compare, the decision report, charts, the benchmarks) narrows on `scenario` instead of
 * casting, so a renamed or retyped field is a compile error in every reader. A summary.json read
 * back is checked against them once, in decide/runs.ts.
 */
export type ScenarioDetails = BurstDetails | RampDetails | SoakDetails | FaultsDetails | ThroughputDetails;
export type ScenarioName = ScenarioDetails['scenario'];
export type DetailsOf<S extends ScenarioName> = Extract<ScenarioDetails, { readonly scenario: S }>;

/** Added to any scenario's details when `--agents` took a share of the subscribers. */
export interface AgentDetails {
  readonly agents?: readonly AgentShare[];
  /** How the agents' clocks were related to this one, in words. */
  readonly clock?: string;
}

export interface BurstDetails extends AgentDetails {
  readonly scenario: 'burst';
  /** Subscribers that were Chromium pages (`--browsers`), measured beside the Node ones; absent without. */
  readonly browsers?: BrowserSubscribers;
}

/** Chromium pages as subscribers: what they received, stamped in the page, matched by the same recorder. */
export interface BrowserSubscribers {
  readonly client: 'chromium';
  /** The Chromium that ran the pages, as it names itself: its figures move with the build. Absent in older runs. */
  readonly version?: string;
  /** Asked for (`--browsers`), and how many shared one page (`--per-page`). */
  readonly subscribers: number;
  readonly perPage: number;
  readonly pages: number;
  /** Subscriptions that opened; the rest waited on the browser within the connect limit (`waiting`) or failed. */
  readonly opened: number;
  readonly waiting: number;
  readonly failed: Readonly<Record<string, number>>;
  readonly messages: MessageCounts;
  /** Publisher's scheduled send to the page's stamp, per message and subscriber. */
  readonly latencyUs: LatencyStats;
  /** HdrHistogram V2 compressed base64 of `latencyUs`. */
  readonly histogram: string;
  readonly crashedPages: number;
  /** Half the shortest round trip of the clock probes of the worst page (µs): how far a page's stamps may sit from Node's clock. */
  readonly clockUncertaintyUs: number;
  /** The smallest step of a page's clock that was seen (µs). */
  readonly timerResolutionUs: number;
  /** CPU time of every Chromium process during the measured round (ms), and their memory at its end (bytes: proportional set sizes summed, so shared pages count once). */
  readonly cpuMs: number;
  readonly memoryBytes: number;
  /** In words: what the browser itself held back (the HTTP/1.1 limit of six connections per origin); empty when nothing waited. */
  readonly note: string;
  /** Long polling: from a poll's answer in the page to its next request (µs) (see BrowserRound). */
  readonly pollGapUs?: LatencyStats;
  /**
   * Long polling: polls the pages built by the profile's rule (`own`, as a chat page's script does)
   * and polls they asked rtbench for (`asked`: the first, and after an answer the rule does not cover).
   * Absent in older runs.
   */
  readonly polls?: { readonly own: number; readonly asked: number };
  /** What troubled the Chromium subscribers during the measured round, by code. Absent when nothing did. */
  readonly errors?: Readonly<Record<string, number>>;
}

export interface RampDetails extends AgentDetails {
  readonly scenario: 'ramp';
  readonly steps: readonly RampStep[];
  readonly breakingPoint: { readonly step: number; readonly connections: number; readonly errorRate: number; readonly cause: string } | null;
  readonly verdict: string;
}

export interface SoakDetails extends AgentDetails {
  readonly scenario: 'soak';
  readonly intervals: readonly SoakInterval[];
  /** Cuts and outages injected, by time since measuring began. */
  readonly injected?: readonly { readonly atMs: number; readonly what: string }[];
  readonly interrupted: boolean;
  readonly measuredS: number;
  readonly plannedS: number;
  readonly totals: { readonly disconnects: number; readonly reconnects: number; readonly failedReconnects: number; readonly timeouts: number };
  readonly server: Partial<ProcessUsage> & { readonly rssStartBytes: number | null; readonly rssEndBytes: number | null; readonly rssSlopeBytesPerHour: number | null; readonly rssSlopeSecondHalfBytesPerHour?: number | null; readonly cpuPctAvg: number | null };
  readonly generatorRssSlopeBytesPerHour?: number | null;
  /** Absent in soaks written before it was measured. */
  readonly generatorRssSlopeSecondHalfBytesPerHour?: number | null;
  readonly generatorHeap?: IntervalTrend | null;
  /** Absent in soaks written before it was measured. */
  readonly generatorRssOutsideHeap?: IntervalTrend | null;
  /** The Chromium subscribers over every round (`--browsers`), and their memory after the first round. */
  readonly browsers?: BrowserRound & { readonly memoryFirstBytes: number };
}

export interface FaultsDetails extends AgentDetails {
  readonly scenario: 'faults';
  readonly faults: readonly FaultRow[];
  /** Faults and modes not run, and why (a --target rtbench cannot restart, a profile that cannot resume). */
  readonly skipped: readonly string[];
}

export interface ThroughputDetails extends AgentDetails {
  readonly scenario: 'throughput';
  readonly steps: readonly ThroughputStep[];
  readonly slo: string;
  /** The highest rate that held, messages per second; null when none did. */
  readonly sustainedRatePerS: number | null;
  readonly stoppedAt: { readonly rate: number; readonly causes: readonly string[] } | null;
  /** rtbench's own ceiling on this machine; null with --no-ceiling (and in runs made before it). */
  readonly ceiling?: Ceiling | null;
  readonly kneeMayBeRtbench?: boolean;
  readonly verdict: string;
}

/** A ramp or throughput step's generator health (scenarios/step-health.ts). */
export type StepGenerator = ProcessUsage & {
  readonly saturated: boolean;
  readonly saturationReasons: readonly string[];
  readonly workerUtilizationMax: number;
  /** The longest garbage-collection pause of a subscriber worker in the step (µs): time it stamped nothing. */
  readonly workerGcPauseUsMax: number;
  /** The longest any generator thread waited for a CPU within one second of the step that stamped arrivals (µs; null where not read): how late the machine could make a stamp. */
  readonly cpuWaitUsMax: number | null;
  /**
   * The generator's own timestamping delay (core/own-delay.ts): the p99 over arrivals of its
   * per-arrival upper bound, and the largest bound of any arrival (µs).
   */
  readonly ownDelayUs: number | null;
  readonly ownDelayLongestUs: number;
  /** The p99 bound as a share of the step's fan-out spread p99 and per-message p99: how much of them it could explain (null: nothing measured). */
  readonly ownDelayShareOfSpreadP99: number | null;
  readonly ownDelayShareOfP99: number | null;
};

export interface RampStep {
  readonly step: number;
  /** Connections asked for at this step (cumulative). */
  readonly target: number;
  /** Subscribers connected at the end of the step. */
  readonly connectionsHeld: number;
  readonly connect: { readonly attempted: number; readonly ok: number; readonly failed: number; readonly errors: Readonly<Record<string, number>>; readonly latencyUs: LatencyStats };
  readonly messages: MessageCounts;
  /** (failed connects + lost deliveries) / (connect attempts + expected deliveries). */
  readonly errorRate: number;
  readonly latencyUs: { readonly perMessage: LatencyStats; readonly fanOutSpread: LatencyStats; readonly publishRtt: LatencyStats; readonly sendLag: LatencyStats };
  readonly errors: Readonly<Record<string, number>>;
  readonly server: (ProcessUsage & { readonly rssPerConnectionBytes: number | null }) | null;
  readonly generator: StepGenerator;
  readonly passed: boolean;
  readonly durationMs: number;
  /** The step's round for the Chromium subscribers (`--browsers`, held from the first step on). */
  readonly browsers?: BrowserRound;
}

/** A measured round as the Chromium subscribers lived it (ramp steps, a whole soak). */
export interface BrowserRound {
  /** The Chromium that ran the pages, as it names itself. Absent in older runs. */
  readonly version?: string;
  readonly held: number;
  /** What troubled the Chromium subscribers during the round(s), by code (their connections' own failures are counted as for Node's). Absent when nothing did. */
  readonly errors?: Readonly<Record<string, number>>;
  readonly messages: MessageCounts;
  readonly latencyUs: LatencyStats;
  readonly histogram: string;
  readonly crashedPages: number;
  /** CPU time of every Chromium process during the round(s) (ms); their proportional set sizes summed at the end (bytes). */
  readonly cpuMs: number;
  readonly memoryBytes: number;
  /**
   * Long polling: from a poll's answer in the page to its next request (µs); a message that comes
   * meanwhile waits for that request. The page builds its next poll itself where the profile gives
   * a rule, else asks rtbench over a loopback WebSocket. Absent for the other transports and in older runs.
   */
  readonly pollGapUs?: LatencyStats;
}

/** One rate of a throughput run. */
export interface ThroughputStep {
  readonly step: number;
  /** The rate asked for, messages per second over all rooms. */
  readonly offeredPerS: number;
  /** 2 when the rate was tried again because only the generator was flagged the first time (absent in older runs: 1). */
  readonly attempt?: number;
  readonly planned: number;
  /** Publishes the server accepted per second of the step's window (below the offer: the publisher or the server fell behind). */
  readonly achievedPublishPerS: number;
  /** Deliveries received in time per second (rate x subscribers per room, when everything arrives). */
  readonly deliveredPerS: number;
  readonly messages: MessageCounts;
  readonly latencyUs: { readonly perMessage: LatencyStats; readonly fanOutSpread: LatencyStats; readonly publishRtt: LatencyStats; readonly sendLag: LatencyStats };
  readonly server: ProcessUsage;
  readonly generator: StepGenerator;
  readonly passed: boolean;
  /** Why the step failed (loss, SLO, generator, server), empty when it passed. */
  readonly causes: readonly string[];
}

/** One rate of rtbench's own ceiling against the null server (scenarios/ceiling.ts). */
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

/** One rate of the publisher alone (load/publish-ceiling.ts). */
export interface PublishStep {
  readonly offeredPerS: number;
  /** The second try of a rate whose first was not held. */
  readonly retry: boolean;
  /** Publishes the server accepted, per second of the step. */
  readonly achievedPerS: number;
  readonly sendLagP99Us: number | null;
  readonly publishRttP99Us: number | null;
  readonly failed: number;
  /** Every publish accepted and the send lag p99 within the on-schedule limit. */
  readonly held: boolean;
  /** Every publish accepted and the send lag p99 within the generator's saturation limit (load/saturation.ts). */
  readonly kept: boolean;
}

export interface Ceiling {
  /** Deliveries a second rtbench read at the highest rate it held (null: not even the first). */
  readonly deliveredPerS: number | null;
  readonly offeredPerS: number | null;
  /** What stopped the search: the generator, the null server (then the ceiling is at least this), or the last rate tried. */
  readonly limitedBy: 'generator' | 'null server' | 'rates';
  readonly why: string;
  /** Publishes a second the publisher offered alone on schedule, send lag p99 within 2 ms (null: not even the first rate). */
  readonly publishPerS: number | null;
  /** The same within the saturation limit (send lag p99 within 5 ms): what it offers before it would flag itself. */
  readonly publishKeptPerS: number | null;
  readonly publishSteps: readonly PublishStep[];
  readonly steps: readonly CeilingStep[];
}

/** One soak interval (one message per room): connection health, delivery and resources. */
export interface SoakInterval {
  readonly interval: number;
  /** Seconds since measuring started, at the end of this interval. */
  readonly elapsedS: number;
  readonly connectionsAlive: number;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  /** Errors whose code names a timeout (connect, headers, body). */
  readonly timeouts: number;
  readonly gaps: number;
  readonly messages: MessageCounts;
  readonly latencyUs: LatencyStats;
  readonly serverCpuPct: number | null;
  readonly serverRssBytes: number | null;
  readonly generatorCpuPct: number | null;
  readonly generatorRssBytes: number | null;
  /**
   * Heap in use after a full GC in every generator thread (main and workers), summed, taken after
   * the round: memory rtbench could not free. Absent in soaks written by the earliest builds.
   */
  readonly generatorHeapAfterGcBytes?: number;
  /**
   * After the same GCs: V8's heap resident in this process (every local thread's isolate, summed),
   * and the process's RSS read right after them. Their difference is the memory outside V8's heap.
   * Absent in soaks written before it was measured.
   */
  readonly generatorHeapResidentBytes?: number;
  readonly generatorRssAfterGcBytes?: number;
  /** Faults injected since the previous row. */
  readonly faults: readonly string[];
}

export interface IntervalTrend {
  readonly startBytes: number;
  readonly endBytes: number;
  readonly slopeBytesPerHour: number | null;
  readonly slopeSecondHalfBytesPerHour: number | null;
  readonly growthBytesPerDelivery: number | null;
}

/** One fault of a faults run, in one resume mode. */
export interface FaultRow {
  readonly resume: boolean;
  readonly fault: string;
  readonly description: string;
  /** From the fault's start until every subscriber was connected again on a new connection; null if not within the window. */
  readonly recoveryMs: number | null;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly gaps: number;
  readonly messages: MessageCounts;
  readonly latencyUs: LatencyStats;
  readonly publishErrors: number;
  /** The window's per-message latency as an encoded histogram, so windows of one mode can be merged (absent in older runs). */
  readonly histogram?: string;
  /** The same window for the Chromium subscribers (`--browsers`): what the browser's own clients did. */
  readonly browsers?: FaultBrowserRow;
}

/** A fault window as the Chromium subscribers lived it (their counters apart from the Node ones). */
export interface FaultBrowserRow {
  readonly recoveryMs: number | null;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly messages: MessageCounts;
  readonly latencyUs: LatencyStats;
  /** Encoded, as the Node window's, so a mode's windows merge. */
  readonly histogram: string;
}

export interface AgentClock {
  readonly kind: 'shared' | 'estimated';
  /** Applied: what the agent's threads subtract from their clock (0 when shared). */
  readonly offsetUs: number;
  /** The latest estimate, and its uncertainty; the largest uncertainty of the run. */
  readonly estimatedOffsetUs: number;
  readonly uncertaintyUs: number;
  readonly uncertaintyUsMax: number;
  readonly estimates: number;
}

/** One agent's part of one transport run. */
export interface AgentShare {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly threads: number;
  /** Subscribers it held after the last connect, and how many were connected at its last tick. */
  readonly subscribers: number;
  readonly connected: number;
  readonly cpuPctAvg: number | null;
  readonly utilizationMax: number;
  readonly gcPauseUsMax: number;
  readonly saturated: boolean;
  readonly saturationReasons: readonly string[];
  /** Why the agent was given up for (it stopped refreshing its registration), or null. */
  readonly lost: string | null;
  readonly clock: AgentClock;
}

/** The details of `result` when it is a run of `scenario`, else null: narrowing, not a cast. */
export function detailsOf<S extends ScenarioName>(result: { readonly details: ScenarioDetails | null }, scenario: S): DetailsOf<S> | null {
  const details = result.details;
  return details !== null && isScenario(details, scenario) ? details : null;
}

function isScenario<S extends ScenarioName>(details: ScenarioDetails, scenario: S): details is DetailsOf<S> {
  return details.scenario === scenario;
}
