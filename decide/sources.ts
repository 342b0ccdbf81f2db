import { relative } from 'node:path';
import type { TransportResult } from '../core/result.js';
import type { LoadedRun } from './runs.js';

/**
 * Where every number of the report comes from: each run folder gets a short id (r1, r2, ...) that
 * the tables cite, and a line that says its folder, command, date, machine and commit.
 */
export interface Source {
  readonly id: string;
  readonly run: LoadedRun;
  /** The run's summary.md, relative to the report's folder. */
  readonly link: string;
}

export interface Sources {
  readonly list: readonly Source[];
  /** The id of the run a result came from. */
  of(result: TransportResult): Source;
}

/** A short commit, still saying when the run was built from a tree with uncommitted changes. */
function commitText(commit: string | null | undefined): string {
  if (!commit) return 'unknown';
  const dirty = commit.endsWith('-dirty');
  return `${commit.replace(/-dirty$/, '').slice(0, 12)}${dirty ? ' (with uncommitted changes)' : ''}`;
}

export function sourcesOf(runs: readonly LoadedRun[], reportFolder: string): Sources {
  const list = runs.map((run, index) => ({ id: `r${index + 1}`, run, link: `${relative(reportFolder, run.folder).split('\\').join('/')}/summary.md` }));
  const byResult = new Map<TransportResult, Source>();
  for (const source of list) for (const result of source.run.summary.transports) byResult.set(result, source);
  return {
    list,
    of: (result) => byResult.get(result) ?? (list[0] as Source),
  };
}

/** One line per source: what was run, where and when; the folder relative to the report, as every link is. */
export function describeSource(source: Source): string {
  const { summary } = source.run;
  const env = summary.environment;
  return `${source.id}: ${summary.scenario}, \`${summary.command.join(' ')}\`, ${summary.startedAt.slice(0, 19).replace('T', ' ')} UTC, ${env.cpuModel} (${env.cores} cores), Node ${env.node}, commit ${commitText(env.gitCommit)}; folder [${source.link.replace(/\/summary\.md$/, '')}](${source.link})`;
}
