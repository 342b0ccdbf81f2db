import { type RunSummary, type SampleRow } from '../core/result.js';

const COLUMNS: readonly (keyof SampleRow)[] = [
  'elapsedS', 'measuring', 'step', 'connections', 'messagesSent', 'messagesReceived',
  'serverCpuPct', 'serverRssBytes', 'generatorCpuPct', 'generatorRssBytes', 'proxyCpuPct', 'proxyRssBytes', 'eventLoopDelayP99Us',
  'generatorCpuWaitUs',
];

/** samples.csv, line by line (each with its newline): one row per transport per second; empty cells where a process was not sampled. */
export function* samplesCsvLines(summary: RunSummary): Generator<string> {
  yield `${['transport', ...COLUMNS].join(',')}\n`;
  for (const result of summary.transports) {
    for (const row of result.samples) {
      yield `${[result.transport, ...COLUMNS.map((column) => (row[column] === null || row[column] === undefined ? '' : String(row[column])))].join(',')}\n`;
    }
  }
}

/** samples.csv as one string. */
export function samplesCsv(summary: RunSummary): string {
  return [...samplesCsvLines(summary)].join('');
}
