import type { Command } from 'commander';
import type { Scenario } from '../run/scenario.js';
import { SCENARIOS } from '../scenarios/index.js';
import { agentCommand } from './agent.js';
import { compareCommand } from './compare.js';
import { measuringCommand } from './measure.js';
import { profilesCommand } from './profiles.js';
import { reportCommand } from './report.js';

/** Every command of rtbench, in the order `rtbench --help` lists them; cli.ts only parses and reports errors. */
export function COMMANDS(setExitCode: (code: number) => void): Command[] {
  return [
    ...SCENARIOS.map((scenario) => measuringCommand(scenario as Scenario<unknown>, setExitCode)),
    compareCommand(setExitCode),
    reportCommand(),
    profilesCommand(setExitCode),
    agentCommand(setExitCode),
  ];
}
