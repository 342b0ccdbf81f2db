#!/usr/bin/env node
/**
 * `npm run bench:run -- <rtbench command and options>`: runs one rtbench command into a dated folder
 * under docs/measurements/ and writes its report.md there: the command, the machine and the commit,
 * then the tables rtbench itself wrote for the run (summary.md). For a measurement a document
 * cites that is not part of `npm run bench` (a throughput knee, a pinned run). Several commands
 * joined by `--and` (the same ramp with and without --http2) go into one document, one after the
 * other, and `rtbench report` draws them together.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { programPath } from '../core/entry-points.js';
import { documentHeader, indexMeasurements, measurementFolder, reportOfRuns } from './measurements.js';

/** Commands separated by `--and` go into one document, each run's tables after the other's (side by side in the report). */
const commands: string[][] = [[]];
for (const arg of process.argv.slice(2)) {
  if (arg === '--and') commands.push([]);
  else (commands.at(-1) as string[]).push(arg);
}
if (commands.some((args) => args.length === 0 || args.some((arg) => arg === '--out' || arg === '-o'))) {
  process.stderr.write('usage: npm run bench:run -- <scenario> [options] [--and <scenario> [options] ...] (without --out: the folder is docs/measurements/<time>-<scenario>)\n');
  process.exit(2);
}
const document = await measurementFolder((commands[0] as string[])[0] as string);
const { root, folder, runs, started } = document;
const sections: string[] = [];
const said: string[] = [];
let status = 0;
for (const args of commands) {
  const before = new Set(readdirSync(runs));
  const run = spawnSync(process.execPath, [programPath('cli'), ...args, '--out', runs], { stdio: ['ignore', 'inherit', 'inherit'] });
  const runFolder = readdirSync(runs).find((name) => !before.has(name));
  if (runFolder === undefined) {
    process.stderr.write(`bench:run: rtbench ${args.join(' ')} exited ${run.status} without a run folder\n`);
    process.exit(1);
  }
  status = Math.max(status, run.status ?? 1);
  said.push(`\`rtbench ${args.join(' ')}\` (the run is under runs/${runFolder}; rtbench exited ${run.status})`);
  sections.push(`## rtbench ${args.join(' ')}\n\nThe summary.md rtbench wrote for the run:\n\n${readFileSync(join(runs, runFolder, 'summary.md'), 'utf8')}`);
}
const title = commands.map((args) => args[0]).join(' and ');
const header = [
  ...documentHeader(`rtbench ${title}`, started, `${said.join('; then ')}, through \`npm run bench:run\`.`),
  reportOfRuns(document),
  '',
];
await writeFile(join(folder, 'report.md'), `${header.join('\n')}\n${sections.join('\n')}`);
await indexMeasurements(root);
process.stderr.write(`bench:run: written to ${join(folder, 'report.md')}\n`);
process.exit(status);
