#!/usr/bin/env node
/**
 * `npm run bench:run -- <rtbench command and options>`: runs one rtbench command into a dated folder
 * under docs/measurements/ and writes its report.md there: the command, the machine and the commit,
 * then the tables rtbench itself wrote for the run (summary.md). For a measurement a document
 * cites that is not part of `npm run bench` (a throughput knee, a pinned run).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { environment } from '../core/environment.js';
import { distEntry } from '../core/paths.js';
import { indexMeasurements } from './measurements.js';

const args = process.argv.slice(2);
if (args.length === 0 || args.some((arg) => arg === '--out' || arg === '-o')) {
  process.stderr.write('usage: npm run bench:run -- <scenario> [options] (without --out: the folder is docs/measurements/<time>-<scenario>)\n');
  process.exit(2);
}
const started = new Date();
const root = resolve('docs/measurements');
const folder = join(root, `${started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}-${args[0]}`);
const runs = join(folder, 'runs');
await mkdir(runs, { recursive: true });
const run = spawnSync(process.execPath, [distEntry('cli.js'), ...args, '--out', runs], { stdio: ['ignore', 'inherit', 'inherit'] });
const [runFolder] = readdirSync(runs);
if (runFolder === undefined) {
  process.stderr.write(`bench:run: rtbench exited ${run.status} without a run folder\n`);
  process.exit(1);
}
const env = environment();
const header = [
  `# rtbench ${args[0]}, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `- Command: \`rtbench ${args.join(' ')}\` (through \`npm run bench:run\`; the run is under runs/${runFolder}; rtbench exited ${run.status}).`,
  `- Machine: ${env.cpuModel}, ${env.cores} cores, ${Math.round(env.memoryBytes / 2 ** 30)} GiB, ${env.os}, Node ${env.node}.`,
  `- rtbench ${env.rtbenchVersion}, commit ${env.gitCommit ?? 'unknown'}.`,
  '',
  'What follows is the summary.md rtbench wrote for the run.',
  '',
];
await writeFile(join(folder, 'report.md'), `${header.join('\n')}${readFileSync(join(runs, runFolder, 'summary.md'), 'utf8')}`);
await indexMeasurements(root);
process.stderr.write(`bench:run: written to ${join(folder, 'report.md')}\n`);
process.exit(run.status ?? 1);
