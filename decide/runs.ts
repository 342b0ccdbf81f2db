import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../core/errors.js';
import { READABLE_SCHEMA_VERSIONS, type RunSummary, SCHEMA_ID } from '../core/result.js';

/** A run as read back from disk: its summary and the folder it came from (every number links to it). */
export interface LoadedRun {
  readonly folder: string;
  readonly summary: RunSummary;
}

function read(folder: string): LoadedRun {
  const file = join(folder, 'summary.json');
  let summary: RunSummary;
  try {
    summary = JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
  } catch (error) {
    throw usageError('run folder', folder, `a folder with a readable summary.json (${(error as Error).message})`);
  }
  if (summary.schema !== SCHEMA_ID) throw usageError('run folder', folder, `a summary.json of schema ${SCHEMA_ID}`);
  if (!READABLE_SCHEMA_VERSIONS.includes(summary.schemaVersion)) {
    throw usageError('run folder', folder, `a summary.json of schema version ${READABLE_SCHEMA_VERSIONS.join(' or ')} (this one is ${String(summary.schemaVersion)}: written by another rtbench; read it with that one)`);
  }
  return { folder, summary };
}

/**
 * Run folders named on the command line: each is a run folder (with summary.json), or a folder of
 * run folders (a set of repeats, a benchmark's output), read in name order.
 */
export function loadRuns(paths: readonly string[]): LoadedRun[] {
  const runs: LoadedRun[] = [];
  for (const given of paths) {
    const folder = resolve(given);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw usageError('run folder', given, 'an existing folder written by rtbench');
    if (existsSync(join(folder, 'summary.json'))) {
      runs.push(read(folder));
      continue;
    }
    const inner = readdirSync(folder)
      .map((name) => join(folder, name))
      .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'summary.json')))
      .sort();
    if (inner.length === 0) throw usageError('run folder', given, 'a run folder (with summary.json) or a folder of run folders');
    runs.push(...inner.map(read));
  }
  return runs;
}
