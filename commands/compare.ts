import { Command, Option } from 'commander';
import { DEFAULT_FAIL_ON, type FailOn, compareRuns, parseFailOn } from '../analysis/compare.js';
import { OUTPUT_FORMATS, type OutputFormat, formatComparison } from '../analysis/formats.js';
import { EXIT } from '../core/errors.js';
import { loadRuns } from '../decide/runs.js';

export const COMPARE_EXIT_HELP = `
Exit status:
  0    no regression (every latency compared had 5 or more runs a side)
  2    bad command line, or runs that cannot be compared (different scenario or
       configuration, a failed run): the difference is named
  4    a regression: an exact counter rose, or a latency rose (or throughput fell)
       significantly and beyond --fail-on
  5    inconclusive: fewer than 5 runs on a side whose generator was not
       saturated (saturated repeats are left out of the latency and rate tests
       and named, unless --include-saturated); never a pass`;

/** `rtbench compare BASE NEW`: BASE and NEW are run folders, or folders of repeated runs. */
export function compareCommand(setExitCode: (code: number) => void): Command {
  return new Command('compare')
    .description('compare two runs (or two folders of repeated runs), benchstat-style: median, spread, change, p-value and a verdict per transport and metric')
    .argument('<base>', 'run folder, or folder of run folders, of the baseline')
    .argument('<new>', 'run folder, or folder of run folders, to judge against it')
    .addOption(new Option('--fail-on <metric:+N%>', 'a significant change beyond this fails (repeatable), e.g. perMessage.p99:+15% or throughput:-10%').argParser(parseFailOn))
    .addOption(new Option('--include-saturated', 'keep repeats whose generator was saturated in the latency and rate tests (by default they are left out and named in the table; their exact counts always count)'))
    // The default since saturated repeats are left out; still accepted so existing CI jobs keep working.
    .addOption(new Option('--exclude-saturated').hideHelp())
    .addOption(new Option('--format <format>', 'md (a table), json, or junit (a CI test report)').choices(OUTPUT_FORMATS).default('md'))
    .addHelpText('after', COMPARE_EXIT_HELP)
    .action((base: string, next: string, options: { failOn?: FailOn[]; includeSaturated?: boolean; format: OutputFormat }) => {
      const comparison = compareRuns(
        loadRuns([base]).map((r) => r.summary),
        loadRuns([next]).map((r) => r.summary),
        { failOn: options.failOn ?? DEFAULT_FAIL_ON, includeSaturated: options.includeSaturated ?? false },
      );
      process.stdout.write(formatComparison(comparison, options.format));
      setExitCode({ pass: EXIT.ok, regression: EXIT.regression, inconclusive: EXIT.inconclusive }[comparison.outcome]);
    });
}
