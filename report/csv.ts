import { type RunSummary, type SampleRow } from '../core/result.js';

const COLUMNS: readonly (keyof SampleRow)[] = [
  'elapsedS', 'measuring', 'step', 'connections', 'messagesSent', 'messagesReceived',
  'serverCpuPct', 'serverRssBytes', 'generatorCpuPct', 'generatorRssBytes', 'proxyCpuPct', 'proxyRssBytes', 'eventLoopDelayP99Us',
];

/** samples.csv: one row per transport per second; empty cells where a process was not sampled. */
export function samplesCsv(summary: RunSummary): string {
  const lines = [['transport', ...COLUMNS].join(',')];
  for (const result of summary.transports) {
    for (const row of result.samples) {
      lines.push([result.transport, ...COLUMNS.map((column) => (row[column] === null || row[column] === undefined ? '' : String(row[column])))].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}
