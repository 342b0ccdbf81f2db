import type { TransportResult } from '../core/result.js';
import { renderTable } from '../output/format.js';
import { type Chart, faultsChart, nameCharts, rampChart, soakChart, spectrumChart, throughputChart } from './charts.js';
import { type Requirement, impactTable, keyDecision } from './decision.js';
import type { LoadedRun } from './runs.js';
import { type Sources, describeSource, sourcesOf } from './sources.js';
import { type LineCounter, type StudyTable, operationsTables, performanceTable, resourcesTable } from './study.js';

/**
 * `rtbench report`: the study's tables filled from any mix of runs, a suggested Key Decision and
 * its Impact, and the charts, as one document rendered twice: report.md (charts as .svg files beside
 * it) and report.html (one self-contained file: charts inlined, no script, nothing fetched).
 */
export interface ReportOptions {
  readonly requirements: readonly Requirement[];
  readonly pollIntervalMs: number;
  readonly command: string;
  /** When the report says it was generated (default: now). */
  readonly generatedAt?: Date;
  /** Counts the lines of the built-in plugins and clients (default: from this checkout's source). */
  readonly lineCounter?: LineCounter;
}

export interface ReportDocument {
  readonly title: string;
  readonly intro: readonly string[];
  readonly tables: readonly StudyTable[];
  readonly charts: readonly Chart[];
  readonly sources: readonly string[];
}

export function buildReport(runs: readonly LoadedRun[], folder: string, options: ReportOptions): ReportDocument {
  const sources: Sources = sourcesOf(runs, folder);
  const results: TransportResult[] = runs.flatMap((run) => run.summary.transports);
  // One burst run is the reference for ranking and Impact (configurations are never mixed): the one
  // with the most transports, the latest of those.
  const transportsOf = (run: LoadedRun): number => new Set(run.summary.transports.map((t) => t.transport)).size;
  const reference = runs
    .filter((r) => r.summary.scenario === 'burst')
    .sort((a, b) => transportsOf(a) - transportsOf(b) || a.summary.startedAt.localeCompare(b.summary.startedAt))
    .at(-1);
  const bursts = reference?.summary.transports ?? [];
  const burstSource = reference ? `run ${sources.list.find((s) => s.run === reference)?.id ?? '?'}` : 'no burst run';
  const decision = keyDecision(results, bursts, options.requirements, burstSource);
  const impact = impactTable(bursts, decision.chosen, options.pollIntervalMs, burstSource);
  const charts = nameCharts([
    spectrumChart(bursts.length > 0 ? bursts : results.filter((r) => r.scenario !== 'faults')),
    ...results.map(rampChart),
    throughputChart(results),
    ...results.map(soakChart),
    faultsChart(results),
  ].filter((c): c is Chart => c !== null));
  const scenarios = [...new Set(runs.map((r) => r.summary.scenario))];
  return {
    title: 'rtbench report',
    intro: [
      `Generated ${(options.generatedAt ?? new Date()).toISOString().slice(0, 16).replace('T', ' ')} UTC by \`${options.command}\` from ${runs.length} run${runs.length === 1 ? '' : 's'} (${scenarios.join(', ')}).`,
      'Every row cites the run it came from (its folder, command, date, machine and commit are listed under Sources). Latency runs from each message\'s scheduled send to its receipt; loss is counted exactly by matching every message by identity.',
    ],
    tables: [resourcesTable(results, sources), performanceTable(results, sources), ...operationsTables(results, sources, options.lineCounter), decision.table, ...(impact ? [impact] : [])],
    charts,
    sources: sources.list.map(describeSource),
  };
}

export function reportMarkdown(document: ReportDocument): string {
  const parts = [`# ${document.title}`, '', ...document.intro.map((line) => `${line}\n`)];
  for (const table of document.tables) {
    parts.push(`## ${table.title}`, '', ...table.notes.map((note) => `${note}\n`));
    if (table.rows.length > 0) parts.push(renderTable(table.headers, table.rows), '');
    else parts.push('(no runs of this kind)', '');
  }
  if (document.charts.length > 0) {
    parts.push('## Charts', '');
    for (const chart of document.charts) parts.push(`![${chart.title}](${chart.name}.svg)`, '');
  }
  parts.push('## Sources', '', ...document.sources.map((line) => `- ${line}`), '');
  return `${parts.join('\n')}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** The little Markdown the tables use: `code`, and [text](link). */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
}

const STYLE = `
body { font-family: -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
p.note { color: #555; font-size: .9em; margin: .3em 0; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: .9em; }
code { background: #f4f4f4; padding: 0 .2em; }`;

export function reportHtml(document: ReportDocument): string {
  const body: string[] = [`<h1>${escapeHtml(document.title)}</h1>`, ...document.intro.map((line) => `<p>${inline(line)}</p>`)];
  for (const table of document.tables) {
    body.push(`<h2>${inline(table.title)}</h2>`, ...table.notes.map((note) => `<p class="note">${inline(note)}</p>`));
    if (table.rows.length === 0) {
      body.push('<p class="note">(no runs of this kind)</p>');
      continue;
    }
    body.push(
      '<table>',
      `<tr>${table.headers.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>`,
      ...table.rows.map((row) => `<tr>${row.map((cell) => `<td>${inline(cell)}</td>`).join('')}</tr>`),
      '</table>',
    );
  }
  if (document.charts.length > 0) {
    body.push('<h2>Charts</h2>');
    for (const chart of document.charts) body.push(`<figure class="chart" id="${chart.name}">${chart.svg}<figcaption>${escapeHtml(chart.title)}</figcaption></figure>`);
  }
  body.push('<h2>Sources</h2>', '<ul>', ...document.sources.map((line) => `<li>${inline(line)}</li>`), '</ul>');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
