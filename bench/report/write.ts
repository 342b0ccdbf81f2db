import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunSummary } from '../result.js';
import { samplesCsv } from './csv.js';
import { summaryMarkdown } from './markdown.js';
import { type SoakInterval, intervalsCsv } from '../../scenarios/soak-report.js';

/** `<out>/<timestamp>-<scenario>/`, with a numeric suffix if two runs start in the same second. */
export function runFolder(outDir: string, scenario: string, startedAt: string): string {
  const stamp = startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const base = join(resolve(outDir), `${stamp}-${scenario}`);
  let folder = base;
  for (let n = 2; existsSync(folder); n++) folder = `${base}-${n}`;
  return folder;
}

export async function writeResults(folder: string, summary: RunSummary): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(folder, 'samples.csv'), samplesCsv(summary));
  await writeFile(join(folder, 'summary.md'), summaryMarkdown(summary));
  const intervals = summary.transports.flatMap((t) => ((t.details?.intervals as SoakInterval[] | undefined) ?? []).map((interval) => ({ transport: t.transport, interval })));
  if (intervals.length > 0) await writeFile(join(folder, 'intervals.csv'), intervalsCsv(intervals));
}
