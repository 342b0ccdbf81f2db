import { Command } from 'commander';
import { formatDurationMs } from '../core/duration.js';
import { EXIT } from '../core/errors.js';
import { runFolder } from '../output/write.js';
import { COMMON_OPTIONS, type CommonConfig, commonConfigFrom, toCommanderOption } from '../run/options.js';
import { prepareRun, runScenario } from '../run/runner.js';
import { everyOutput } from '../run/request.js';
import { folderOutput, jsonOutput, terminalOutput, thresholdsOutput, whereOutput } from './outputs.js';
import type { Scenario } from '../run/scenario.js';
import { redactArgv, redactUrl } from '../core/redact.js';
import { setTlsTrust } from '../core/tls-trust.js';
import { REDIS_CA_ENV } from '../core/redis.js';

/**
 * The measuring commands, one per scenario (burst, ramp, soak, faults, throughput): the scenario's
 * own options and the common ones, parsed once into its typed config and the CommonConfig, then
 * run, written and judged against --threshold.
 */
export function measuringCommand(scenario: Scenario<unknown>, setExitCode: (code: number) => void): Command {
  const command = new Command(scenario.name).description(scenario.summary);
  command.showHelpAfterError(`(rtbench ${scenario.name} --help lists every option and its default)`);
  const common = COMMON_OPTIONS.map((spec) => {
    const key = /--([a-z-]+)/.exec(spec.flags)?.[1]?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const override = key === undefined ? undefined : scenario.commonDefaults?.[key];
    return override === undefined ? spec : { ...spec, defaultValue: override, defaultLabel: typeof override === 'number' ? formatDurationMs(override) : undefined };
  });
  for (const spec of [...scenario.options, ...common]) command.addOption(toCommanderOption(spec));
  command.addHelpText('after', EXIT_CODES_HELP);
  command.action(async (options: Record<string, unknown>) => {
    setExitCode(await runCommand(scenario, options));
  });
  return command;
}

export const EXIT_CODES_HELP = `
Exit status:
  0    every transport completed (and every --threshold held)
  1    a transport failed, or the run could not start (server, proxy, unreachable --target)
  2    bad command line
  3    everything completed and was written, but a --threshold failed
  130  interrupted by Ctrl-C (SIGINT); what was measured is written
  143  stopped by SIGTERM; what was measured is written`;

/** Ctrl-C and SIGTERM abort the run, which then writes its results; a second signal exits at once. */
function interruptSignal(): { signal: AbortSignal; exitCode: () => number | null } {
  const controller = new AbortController();
  let code: number | null = null;
  const onSignal = (exitCode: number) => () => {
    if (code !== null) process.exit(exitCode); // second signal: the exit handler still kills children
    code = exitCode;
    process.stderr.write(`\nrtbench: stopping, writing what was measured (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal(EXIT.interrupted));
  process.on('SIGTERM', onSignal(EXIT.terminated));
  return { signal: controller.signal, exitCode: () => code };
}

/** How long a run would measure, as `--dry-run` says it: transports run one after another. */
function howLong(scenario: Scenario<unknown>, config: unknown, runs: number): string {
  const eachMs = scenario.measuringMs?.(config);
  if (eachMs === undefined) return '';
  const total = runs > 1 ? `, ${formatDurationMs(eachMs * runs)} for all ${runs} one after another` : '';
  return `; measuring takes up to ${formatDurationMs(eachMs)} a transport${total} (connecting and warm-up come on top)`;
}

/** Where a run would send its load, as `--dry-run` says it. */
function placeOf(common: CommonConfig): string {
  if (common.targets.length > 0) return `at ${common.targets.map(redactUrl).join(', ')}${common.targets.length > 1 ? ` (spread ${common.spread})` : ''}`;
  if (common.instances > 1) return `on ${common.instances} built-in instances sharing ${common.bus} (spread ${common.spread})`;
  return common.bus === 'memory' ? 'on the built-in servers' : `on the built-in servers, bus ${common.bus}`;
}

async function runCommand(scenario: Scenario<unknown>, options: Record<string, unknown>): Promise<number> {
  const common = commonConfigFrom(options);
  const scenarioConfig = scenario.configFrom(options);
  const terminal = terminalOutput(scenario, common);
  setTlsTrust(common.tlsTrust);
  // Read by every Redis client here and in the servers this run starts.
  if (common.redisCaFile !== null) process.env[REDIS_CA_ENV] = common.redisCaFile;
  if (common.tlsTrust.insecure) process.stderr.write('rtbench: --insecure: no TLS certificate is verified in this run\n');
  const prepared = await prepareRun({ scenario, common, scenarioConfig, output: everyOutput([terminal]) });
  if (common.dryRun) {
    const { plan, transports } = prepared;
    process.stdout.write(
      `rtbench ${scenario.name}: would measure ${transports.map((t) => `${t}${plan.resume[t] ? '' : ' (no resume)'}`).join(', ')} ${placeOf(common)} with profile ${plan.profile.name}${common.repeat > 1 ? `, ${common.repeat} times` : ''}${common.thresholds.length ? `, holding ${common.thresholds.map((t) => t.text).join(', ')}` : ''}${howLong(scenario, scenarioConfig, transports.length * common.repeat)}\n`,
    );
    return EXIT.ok;
  }
  const interrupt = interruptSignal();
  const folder = runFolder(common.outDir, scenario.name, new Date().toISOString());
  const thresholds = thresholdsOutput(common, folder);
  // In this order: the files are written before the tables and verdicts are shown, and the line naming the folder comes last.
  const outputs = [folderOutput(folder, scenario), terminal, ...(common.json ? [jsonOutput()] : []), thresholds, whereOutput(folder)];
  const summary = await runScenario({
    scenario,
    common,
    scenarioConfig,
    options,
    command: ['rtbench', ...redactArgv(process.argv.slice(2))],
    signal: interrupt.signal,
    output: everyOutput(outputs),
  }, prepared);
  const interrupted = interrupt.exitCode();
  if (interrupted !== null) return interrupted;
  if (summary.state !== 'completed') return EXIT.failed;
  return thresholds.failed() ? EXIT.thresholds : EXIT.ok;
}
