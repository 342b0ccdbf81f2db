import type { ClientContext, TransportClient, TransportName } from '../clients/types.js';
import type { RecorderResult } from '../bench/recorder.js';
import type { OptionSpec } from '../bench/options.js';
import type { LiveCounters, SampleRow } from '../bench/sampler.js';
import type { Plan } from '../bench/preflight.js';
import type { CommonConfig } from '../bench/options.js';

/** What a scenario lets the runner watch, so a run that fails or is interrupted still reports what it measured. */
export interface Observed {
  /** Subscribers the scenario asked for (whether or not they all connected). */
  readonly subscribers: number;
  /** Read once per second for samples.csv. */
  live(): LiveCounters;
  /** Everything measured so far, as one result (a ramp sums its steps). */
  measured(): { readonly result: RecorderResult; readonly reconnects: number; readonly gaps: number };
  /** Scenario-specific report, written into the transport's result as `details` (a ramp's steps). */
  details?(): Readonly<Record<string, unknown>>;
  /** Threads of the generator doing work (main + workers); its CPU limit scales with them. Default 1. */
  readonly generatorThreads?: number;
  /** Reasons, beyond the process-level ones, that the generator limited the numbers (busy worker threads). */
  saturationReasons?(): readonly string[];
}

/** What the runner hands a scenario for one transport: everything it needs, and nothing it must clean up. */
export interface ScenarioContext {
  readonly transport: TransportName;
  readonly client: TransportClient;
  readonly clientContext: ClientContext;
  /** Where to publish and subscribe (the built-in server, the delay proxy in front of it, or `--target`). */
  readonly baseUrl: string;
  readonly runId: string;
  /** Aborted on Ctrl-C, SIGTERM, or when the server under test dies. */
  readonly signal: AbortSignal;
  /** One-line phase messages (stderr). */
  log(line: string): void;
  /** Live progress (stderr, terminal only). */
  progress(line: string): void;
  /** Call once, before measuring starts. */
  observe(observed: Observed): void;
  /** Every per-second resource sample of this transport so far. */
  samples(): readonly SampleRow[];
  /** Takes a resource sample now and returns it (tagged with the scenario's live counters). */
  sampleNow(): Promise<SampleRow | undefined>;
  /** What the scenario's preflight decided for this machine (source addresses), or null. */
  readonly machine: Plan | null;
  /** The server itself (built-in or --target), bypassing the proxy: where a publisher keeps publishing through a subscriber-side fault. */
  readonly directUrl: string;
  /** The proxy in front of the server, when one runs: cut every connection, or refuse new ones. */
  readonly proxy: { cut(): void; refuse(on: boolean): void; stall(direction: 'up' | 'down', ms: number): void; loss(probability: number, ms: number): void } | null;
  /** Kills the built-in server and starts a new one on the same port (null for --target). */
  readonly restartServer: (() => Promise<void>) | null;
  /** Writes what was measured so far into the run folder (summary.json with `checkpoint: true`). */
  checkpoint(): Promise<void>;
}

export interface Scenario<Config> {
  readonly name: string;
  readonly summary: string;
  /** Options of this scenario beyond the common ones; their defaults are defined here and only here. */
  readonly options: readonly OptionSpec[];
  /** Builds the scenario's config from parsed options; throws a usage error for bad combinations. */
  configFrom(options: Record<string, unknown>): Config;
  /**
   * Checks, before any server starts, that this machine can carry the load; throws RTB_ERR_PREFLIGHT
   * with the numbers when it cannot.
   */
  preflight?(config: Config, common: CommonConfig): Plan;
  /** Defaults of common options that differ for this scenario (e.g. a shorter --deadline). */
  readonly commonDefaults?: Readonly<Record<string, unknown>>;
  /** True when the scenario needs the proxy even without --delay (to inject faults). */
  needsProxy?(config: Config): boolean;
  /** Caps the clients' reconnect backoff (ms), e.g. so a fault test recovers within one interval. */
  reconnectMaxMs?(config: Config): number | undefined;
  /** Returns normally when the signal aborts; throws only when the run cannot go on. */
  run(context: ScenarioContext, config: Config): Promise<void>;
}
