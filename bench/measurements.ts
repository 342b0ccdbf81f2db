import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { environment } from '../core/environment.js';
import { programPath } from '../core/entry-points.js';

/** One measurement document being written: its dated folder and the runs folder inside it. */
export interface MeasurementFolder {
  readonly root: string;
  readonly folder: string;
  readonly runs: string;
  readonly started: Date;
}

/** Creates docs/measurements/<UTC time>-<kind>/runs/ (or under `root`). */
export async function measurementFolder(kind: string, root = 'docs/measurements'): Promise<MeasurementFolder> {
  const started = new Date();
  const stamp = started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const absoluteRoot = resolve(root);
  const folder = join(absoluteRoot, `${stamp}-${kind}`);
  const runs = join(folder, 'runs');
  await mkdir(runs, { recursive: true });
  return { root: absoluteRoot, folder, runs, started };
}

/**
 * `rtbench report` over the document's runs, into its report/ folder: the study's tables and the
 * charts (SVG) of those runs, drawn by rtbench itself. Returns the line that links it from
 * report.md, or says why there is none.
 */
export function reportOfRuns(document: MeasurementFolder): string {
  const out = join(document.folder, 'report');
  const run = spawnSync(process.execPath, [programPath('cli'), 'report', document.runs, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return run.status === 0
    ? 'The study\'s tables and the charts of these runs, written by `rtbench report runs/`: [report/report.md](report/report.md) (charts as SVG beside it).'
    : `\`rtbench report runs/\` exited ${run.status}: no charts for these runs.`;
}

/** The head every measurement document starts with: title, command, machine and commit (the index reads them). */
export function documentHeader(title: string, started: Date, command: string): string[] {
  const env = environment();
  return [
    `# ${title}, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Command: ${command}`,
    `- Machine: ${env.cpuModel}, ${env.cores} cores, ${Math.round(env.memoryBytes / 2 ** 30)} GiB, ${env.os}, Node ${env.node}.`,
    `- rtbench ${env.rtbenchVersion}, commit ${env.gitCommit ?? 'unknown'}.`,
    '',
  ];
}

/**
 * docs/measurements/README.md, written anew from the dated folders beside it: one row a folder,
 * newest first, the newest of each kind (bench, peers, cluster) marked current. Each folder's
 * report.md is written by the benchmark that made it; a hand-written notes.md beside it, if any,
 * says what that run says.
 */
export async function indexMeasurements(root: string): Promise<void> {
  const folders = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'report.md')))
    .map((entry) => entry.name)
    .sort()
    .reverse();
  const current = new Map<string, string>();
  const rows = folders.map((name) => {
    const kind = /-([a-z]+)$/.exec(name)?.[1] ?? 'other';
    if (!current.has(kind)) current.set(kind, name);
    const report = readFileSync(join(root, name, 'report.md'), 'utf8');
    const title = /^# (.*)$/m.exec(report)?.[1] ?? name;
    const machine = /^- Machine: (.*)$/m.exec(report)?.[1] ?? '-';
    const commit = /commit ([0-9a-f]{7,40}|unknown)/.exec(report)?.[1] ?? '-';
    const notes = existsSync(join(root, name, 'notes.md')) ? ` ([notes](${name}/notes.md))` : '';
    return `| [${name}](${name}/report.md)${notes} | ${kind} | ${title} | ${machine.replace(/\|/g, '/')} | ${commit} | ${current.get(kind) === name ? 'current' : ''} |`;
  });
  const text = [
    '# Measurements',
    '',
    'Every figure rtbench quotes comes from one of these folders, each written by the command that measured it',
    '(`npm run bench`, `npm run bench:peers`, `npm run bench:cluster`), with the command, the machine and the',
    'commit at its top. This index is rewritten by those commands; "current" is the newest of each kind.',
    'Older folders stay as the history of the figures. Figures recorded by hand before these documents',
    'existed, none re-measured since, are kept as history in [hand-recorded.md](hand-recorded.md).',
    '',
    '| Folder | Kind | Title | Machine | Commit | |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  await writeFile(join(root, 'README.md'), text);
}
