import type { RunSummary } from '../core/result.js';
import type { CommonConfig } from './options.js';
import type { Scenario } from './scenario.js';

/**
 * Where a run's events go. The runner emits them; each output (the terminal, the run folder, `--json`,
 * `--threshold` verdicts) implements the events it needs and knows nothing of the others.
 */
export interface RunOutput {
  /** A phase of the run, as a line ("ws: connecting 1000 subscribers"). */
  phase?(line: string): void;
  /** The live progress line, several times a second. */
  progress?(line: string): void;
  /** The run so far, during a long run (soak, ramp, faults): what a crash keeps. */
  checkpoint?(summary: RunSummary): Promise<void>;
  /** The whole run, once, at its end (completed, failed or interrupted). */
  done?(summary: RunSummary): Promise<void>;
}

/** Outputs as one: each event goes to every output that takes it, in their order (a file is written before the line that names it). */
export function everyOutput(outputs: readonly RunOutput[]): Required<RunOutput> {
  return {
    phase: (line) => outputs.forEach((output) => output.phase?.(line)),
    progress: (line) => outputs.forEach((output) => output.progress?.(line)),
    checkpoint: async (summary) => {
      for (const output of outputs) await output.checkpoint?.(summary);
    },
    done: async (summary) => {
      for (const output of outputs) await output.done?.(summary);
    },
  };
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
  /** Where the run's events go (everyOutput of the command's outputs). */
  readonly output: Required<RunOutput>;
}
