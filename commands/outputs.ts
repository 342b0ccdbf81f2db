import chalk from 'chalk';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatThresholds } from '../analysis/formats.js';
import { evaluateThresholds } from '../analysis/thresholds.js';
import { environment } from '../core/environment.js';
import type { RunSummary } from '../core/result.js';
import { TERMINAL_COLUMNS, renderSections } from '../output/sections.js';
import { writeResults } from '../output/write.js';
import type { CommonConfig } from '../run/options.js';
import type { RunOutput } from '../run/request.js';
import type { Scenario } from '../run/scenario.js';

/**
 * The terminal: phase lines to stderr (unless quiet), the live progress line only when stderr is a
 * terminal (so CI logs and `--json` pipes stay clean), and at the end the scenario's tables: on stdout,
 * or on stderr when stdout carries `--json`.
 */
export function terminalOutput(scenario: Scenario<unknown>, common: Pick<CommonConfig, 'quiet' | 'json'>, stream: NodeJS.WriteStream = process.stderr): RunOutput {
  const quietLines = common.quiet || common.json;
  const live = stream.isTTY === true && !quietLines;
  let shown = false;
  const clear = (): void => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    phase(line) {
      if (quietLines) return;
      clear();
      stream.write(`rtbench: ${line}\n`);
    },
    progress(line) {
      if (!live) return;
      stream.write(`\r\x1b[K${line}`);
      shown = true;
    },
    async done(summary) {
      clear();
      const tables = renderSections(scenario.tables(summary.transports), TERMINAL_COLUMNS);
      if (common.json) {
        if (!common.quiet) stream.write(`${tables}\n`);
        return;
      }
      const env = environment();
      process.stdout.write(`\n${chalk.bold(`rtbench ${scenario.name}`)} on ${env.cpuModel} (${env.cores} cores), Node ${env.node}\n\n${tables}\n\n`);
    },
  };
}

/** `--json`: the whole summary on stdout, nothing else there. */
export function jsonOutput(): RunOutput {
  return {
    async done(summary) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    },
  };
}

/**
 * The run folder: summary.json, samples.csv, summary.md and the scenario's own files, at every
 * checkpoint and at the end. The folder is fixed before the run, so checkpoints land where the final
 * result will.
 */
export function folderOutput(folder: string, scenario: Scenario<unknown>): RunOutput {
  // The scenario knows its tables and files; the writers only write them.
  const write = (summary: RunSummary): Promise<void> => writeResults(folder, summary, scenario.tables(summary.transports), scenario.files?.(summary.transports) ?? []);
  return { checkpoint: write, done: write };
}

/**
 * `--threshold` rules held against what was measured: the verdicts go beside the results
 * (thresholds.json, and thresholds.xml for CI test reports) and to the terminal. `failed()` says
 * whether any rule failed, for the exit code.
 */
export function thresholdsOutput(common: Pick<CommonConfig, 'thresholds' | 'json'>, folder: string): RunOutput & { failed(): boolean } {
  let failed = false;
  return {
    async done(summary) {
      if (common.thresholds.length === 0) return;
      const verdicts = evaluateThresholds(summary, common.thresholds);
      await writeFile(join(folder, 'thresholds.json'), formatThresholds(verdicts, 'json'));
      await writeFile(join(folder, 'thresholds.xml'), formatThresholds(verdicts, 'junit'));
      (common.json ? process.stderr : process.stdout).write(`Thresholds\n${formatThresholds(verdicts, 'md')}\n`);
      failed = verdicts.some((v) => !v.passed);
    },
    failed: () => failed,
  };
}

/** The last line of every run: where its files are. */
export function whereOutput(folder: string): RunOutput {
  return {
    async done() {
      process.stderr.write(`rtbench: results in ${folder}\n`);
    },
  };
}
