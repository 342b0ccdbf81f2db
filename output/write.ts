import { mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunFile, TableSection } from '../core/sections.js';
import type { RunSummary } from '../core/result.js';
import { samplesCsvLines } from './csv.js';
import { writeJson, writePieces } from './stream-write.js';
import { summaryMarkdown } from './markdown.js';

/**
 * Creates and returns `<out>/<timestamp>-<scenario>/`, with a numeric suffix if another run took that
 * name. The folder is claimed by creating it (mkdir fails on an existing one), so runs started in the
 * same second, in other processes too, never share a folder and overwrite each other's checkpoints.
 */
export function runFolder(outDir: string, scenario: string, startedAt: string): string {
  const stamp = startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const base = join(resolve(outDir), `${stamp}-${scenario}`);
  mkdirSync(resolve(outDir), { recursive: true });
  for (let n = 1; ; n++) {
    const folder = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(folder);
      return folder;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Writes a run folder: summary.json, samples.csv, summary.md (the scenario's sections) and the scenario's own files. */
export async function writeResults(folder: string, summary: RunSummary, sections: readonly TableSection[], files: readonly RunFile[] = []): Promise<void> {
  await mkdir(folder, { recursive: true });
  // The two files that grow with the run are written in pieces (see stream-write.ts).
  await writeJson(join(folder, 'summary.json'), summary);
  await writePieces(join(folder, 'samples.csv'), samplesCsvLines(summary));
  await writeFile(join(folder, 'summary.md'), summaryMarkdown(summary, sections));
  for (const file of files) await writeFile(join(folder, file.name), file.content);
}
