import type { ReconnectPolicy, SubscribeSpec } from '../clients/types.js';
import type { RunFile, TableSection } from '../core/sections.js';
import type { LiveCounters, RecorderResult, SampleRow, TransportResult } from '../core/result.js';
import type { TransportName } from '../core/transports.js';
import type { PublishChannel, ProvisionRequest, SubscriberRef, TargetContext, TargetProfile } from '../targets/types.js';
import type { ProfileRef } from '../targets/load.js';
import type { CommonConfig, OptionSpec } from './options.js';
import type { Plan } from './preflight.js';
import type { OwnDelay } from '../core/own-delay.js';
import type { RemoteThreads } from '../load/worker/pool.js';
import type { ScenarioDetails } from '../core/details.js';

/**
 * The contract between the engine and a scenario. The engine owns it (as k6's executors implement
 * what its engine declares): it starts and stops servers, proxy and sampler, hands the scenario a
 * context for one transport, and turns what the scenario lets it observe into a result. A scenario
 * is plain data plus `run(context, config)`; its report tables are its own too.
 */

/** What a scenario lets the runner watch, so a run that fails or is interrupted still reports what it measured. */
export interface Observed {
  /** Subscribers the scenario asked for (whether or not they all connected). */
  readonly subscribers: number;
  /** Read once per second for samples.csv. */
  live(): LiveCounters;
  /** Everything measured so far, as one result (a ramp sums its steps). */
  measured(): { readonly result: RecorderResult; readonly reconnects: number; readonly gaps: number; readonly sends: number };
  /** What the scenario adds to the transport's result as `details` (core/details.ts: a ramp's steps). */
  details?(): ScenarioDetails;
  /** Threads of the generator doing work (main + workers); its CPU limit scales with them. Default 1. */
  readonly generatorThreads?: number;
  /** Measured receive handlers run back to back: the generator's own timestamping delay bound (core/own-delay.ts). */
  ownDelay?(): OwnDelay;
  /** Reasons, beyond the process-level ones, that the generator limited the numbers (busy worker threads). */
  saturationReasons?(): readonly string[];
}

/** The target as one transport run sees it: the profile, where it is, and what was provisioned. */
export interface TargetHandle {
  readonly profile: TargetProfile;
  /** How a subscriber thread loads the same profile. */
  readonly ref: ProfileRef;
  readonly context: TargetContext;
  /** Users, rooms, tokens for this run: untimed, before measuring. */
  provision(request: Omit<ProvisionRequest, 'concurrency'>): Promise<unknown>;
  publisher(provisioned: unknown): PublishChannel;
  spec(provisioned: unknown, subscriber: SubscriberRef): SubscribeSpec;
  /** The same target with resume switched on or off (faults runs both). */
  withResume(resume: boolean): TargetHandle;
  /** The same target reached without the proxy: for a publisher that must keep going through a subscriber-side fault. */
  direct(): TargetHandle;
  /** Whether this transport of the profile can resume at all. */
  readonly canResume: boolean;
}

export interface SampleRows extends Iterable<SampleRow> {
  /** The newest `count` rows, oldest first. */
  recent(count: number): SampleRow[];
}

/** What the runner hands a scenario for one transport: everything it needs, and nothing it must clean up. */
export interface ScenarioContext {
  readonly transport: TransportName;
  /** How every subscriber of this run waits between reconnect attempts. */
  readonly reconnect: ReconnectPolicy;
  readonly target: TargetHandle;
  readonly runId: string;
  /** `--seed`: every random draw of the run (reconnect waits, jitter, faults) starts from it, so a run can be replayed. */
  readonly seed: number;
  /** Aborted on Ctrl-C, SIGTERM, or when the server under test dies. */
  readonly signal: AbortSignal;
  log(line: string): void;
  progress(line: string): void;
  /** Call once, before measuring starts. */
  observe(observed: Observed): void;
  /** Subscribers connected over each HTTP protocol (TLS targets): what `connections.protocols` reports. */
  connectedOver(protocols: Readonly<Record<string, number>>): void;
  /** The per-second rows so far, oldest first (most of a long run's on disk: iterate, or take the recent ones). */
  samples(): SampleRows;
  sampleNow(): Promise<SampleRow | undefined>;
  readonly machine: Plan | null;
  readonly proxy: { cut(): void; refuse(on: boolean): void; stall(direction: 'up' | 'down', ms: number): void; loss(probability: number, ms: number): void } | null;
  readonly restartServer: (() => Promise<void>) | null;
  /** Built-in instances of this run (1 unless `--instances`). */
  readonly instances: number;
  /** Stops built-in instance `index` and starts it again on its port, the others serving on; null for --target. */
  readonly restartInstance: ((index: number) => Promise<void>) | null;
  /** Makes Redis unreachable to every instance for `ms` (cut and refused), then reachable again; null unless the scenario asked (`busFaults`) on a Redis bus. */
  readonly busOutage: ((ms: number) => Promise<void>) | null;
  /**
   * Starts the null server (servers/null-server.ts) on this machine, pinned as the built-in server
   * is, with the reference profile bound to it: what rtbench measures against to find its own
   * ceiling. Stopped when the transport run ends.
   */
  readonly nullTarget: () => Promise<{ readonly target: TargetHandle; readonly pid: number }>;
  /** The run's agents (`--agents`): every pool the scenario starts deals them a share of its subscribers. */
  readonly agents: RemoteThreads | null;
  checkpoint(): Promise<void>;
}

export interface Scenario<Config> {
  readonly name: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  configFrom(options: Record<string, unknown>): Config;
  preflight?(config: Config, common: CommonConfig): Plan;
  readonly commonDefaults?: Readonly<Record<string, unknown>>;
  needsProxy?(config: Config): boolean;
  /** Whether its subscribers live in a pool that `--agents` can share (ramp, soak, throughput). */
  readonly agents?: boolean;
  /** How long it measures one transport, at most (ms): what --dry-run says the run will take, before connecting and warm-up. */
  measuringMs?(config: Config): number;
  /** The option that asks for runs with resume only (faults --modes on), refused like --resume for a transport that cannot resume. */
  resumeOnly?(config: Config): { readonly option: string; readonly value: string } | null;
  /** Whether the built-in instances reach Redis through a proxy of their own, so `busOutage` can cut it. */
  busFaults?(config: Config): boolean;
  reconnectMaxMs?(config: Config): number | undefined;
  run(context: ScenarioContext, config: Config): Promise<void>;
  /** The scenario's tables, from its results (summary.md and the terminal). */
  tables(results: readonly TransportResult[]): readonly TableSection[];
  /** Extra files of its own in the run folder (a soak's intervals.csv). */
  files?(results: readonly TransportResult[]): readonly RunFile[];
}
