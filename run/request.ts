import type { RunSummary } from '../core/result.js';
import type { CommonConfig } from './options.js';
import type { Scenario } from './scenario.js';

/** Where a run's phase lines and its live progress line go (the terminal, or nowhere with --quiet). */
export interface RunLog {
  log(line: string): void;
  progress(line: string): void;
}

/** What a measuring command asks of the runner: the scenario, its parsed configuration, and where to report. */
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
