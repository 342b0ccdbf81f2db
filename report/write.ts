import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ReportFile, ReportSection } from '../core/report.js';
import type { RunSummary } from '../core/result.js';
import { samplesCsv } from './csv.js';
import { summaryMarkdown } from './markdown.js';

/** `<out>/<timestamp>-<scenario>/`, with a numeric suffix if two runs start in the same second. */
export function runFolder(outDir: string, scenario: string, startedAt: string): string {
  const stamp = startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const base = join(resolve(outDir), `${stamp}-${scenario}`);
  let folder = base;
  for (let n = 2; existsSync(folder); n++) folder = `${base}-${n}`;
  return folder;
}

/** Writes a run folder: summary.json, samples.csv, summary.md (the scenario's sections) and the scenario's own files. */
export async function writeResults(folder: string, summary: RunSummary, sections: readonly ReportSection[], files: readonly ReportFile[] = []): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(join(folder, 'samples.csv'), samplesCsv(summary));
  await writeFile(join(folder, 'summary.md'), summaryMarkdown(summary, sections));
  for (const file of files) await writeFile(join(folder, file.name), file.content);
}
