import type { ClientContext, Subscription, TransportClient, TransportName } from '../clients/types.js';
import type { Recorder } from '../bench/recorder.js';
import type { OptionSpec } from '../bench/options.js';

/** What a scenario lets the runner watch, so a run that fails or is interrupted still reports what it measured. */
export interface Observed {
  readonly recorder: Recorder;
  readonly subscriptions: () => readonly Subscription[];
  /** Subscribers the scenario asked for (whether or not they all connected). */
  readonly subscribers: number;
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
}

export interface Scenario<Config> {
  readonly name: string;
  readonly summary: string;
  /** Options of this scenario beyond the common ones; their defaults are defined here and only here. */
  readonly options: readonly OptionSpec[];
  /** Builds the scenario's config from parsed options; throws a usage error for bad combinations. */
  configFrom(options: Record<string, unknown>): Config;
  /** Returns normally when the signal aborts; throws only when the run cannot go on. */
  run(context: ScenarioContext, config: Config): Promise<void>;
}
