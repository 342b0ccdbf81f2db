#!/usr/bin/env node
/**
 * `npm run bench:run -- <rtbench command and options>`: runs one rtbench command into a dated folder
 * under docs/measurements/ and writes its report.md there: the command, the machine and the commit,
 * then the tables rtbench itself wrote for the run (summary.md). For a measurement a document
 * cites that is not part of `npm run bench` (a throughput knee, a pinned run).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { programPath } from '../core/entry-points.js';
import { documentHeader, indexMeasurements, measurementFolder, reportOfRuns } from './measurements.js';

const args = process.argv.slice(2);
if (args.length === 0 || args.some((arg) => arg === '--out' || arg === '-o')) {
  process.stderr.write('usage: npm run bench:run -- <scenario> [options] (without --out: the folder is docs/measurements/<time>-<scenario>)\n');
  process.exit(2);
}
const document = await measurementFolder(args[0] as string);
const { root, folder, runs, started } = document;
const run = spawnSync(process.execPath, [programPath('cli'), ...args, '--out', runs], { stdio: ['ignore', 'inherit', 'inherit'] });
const [runFolder] = readdirSync(runs);
if (runFolder === undefined) {
  process.stderr.write(`bench:run: rtbench exited ${run.status} without a run folder\n`);
  process.exit(1);
}
const header = [
  ...documentHeader(`rtbench ${args[0]}`, started, `\`rtbench ${args.join(' ')}\` (through \`npm run bench:run\`; the run is under runs/${runFolder}; rtbench exited ${run.status}).`),
  reportOfRuns(document),
  '',
  'What follows is the summary.md rtbench wrote for the run.',
  '',
];
await writeFile(join(folder, 'report.md'), `${header.join('\n')}${readFileSync(join(runs, runFolder, 'summary.md'), 'utf8')}`);
await indexMeasurements(root);
process.stderr.write(`bench:run: written to ${join(folder, 'report.md')}\n`);
process.exit(run.status ?? 1);
