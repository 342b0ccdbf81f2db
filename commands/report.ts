import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseDurationMs } from '../core/duration.js';
import { usageError } from '../core/errors.js';
import { type Requirement, parseRequirement } from '../decide/decision.js';
import { buildReport, reportHtml, reportMarkdown } from '../decide/document.js';
import { loadRuns } from '../decide/runs.js';

function interval(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === null || ms < 100 || ms > 3_600_000) throw usageError('--poll-interval', text, 'a duration from 100ms to 1h, e.g. 2s');
  return ms;
}

/** `rtbench report <run folders...>`: report.md, report.html and one .svg per chart, in `--out`. */
export function reportCommand(): Command {
  return new Command('report')
    .description("turn run folders (any mix of burst, ramp, soak, faults and throughput) into the study's tables, a suggested Key Decision and its Impact, with charts: report.md and a self-contained report.html")
    .argument('<runs...>', 'run folders, or folders of run folders')
    .addOption(new Option('-o, --out <dir>', 'folder to write report.md, report.html and the charts into').default('report'))
    .addOption(new Option('--require <rule>', "a requirement for the suggested decision (repeatable): a threshold (p99<200ms, lost==0, throughput>=500), direction=server-push|poll, or resume=yes|no").argParser(parseRequirement))
    .addOption(new Option('--poll-interval <duration>', 'the REST polling interval the Impact table compares with').argParser(interval).default(2000, '2s'))
    .action(async (runs: string[], options: { out: string; require?: Requirement[]; pollInterval: number }) => {
      const loaded = loadRuns(runs);
      const folder = resolve(options.out);
      const document = buildReport(loaded, folder, {
        requirements: options.require ?? [],
        pollIntervalMs: options.pollInterval,
        command: ['rtbench', ...process.argv.slice(2)].join(' '),
      });
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'report.md'), reportMarkdown(document));
      await writeFile(join(folder, 'report.html'), reportHtml(document));
      for (const chart of document.charts) await writeFile(join(folder, `${chart.name}.svg`), chart.svg);
      process.stderr.write(`rtbench: report of ${loaded.length} run(s) in ${folder} (report.md, report.html, ${document.charts.length} chart(s))\n`);
    });
}
