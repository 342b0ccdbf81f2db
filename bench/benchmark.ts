#!/usr/bin/env node
/**
 * The benchmark the README quotes (`npm run bench`): the calibration of rtbench against a raw
 * floor, then the full ramp for every transport. Writes results/benchmarks/<timestamp>/report.md
 * (and the runs' own result folders) and prints the report.
 *
 *   npm run bench                # calibration + ramp 100 -> 10,000 for ws, sse, long-polling
 *   npm run bench -- --skip-ramp # calibration only
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureFloor } from './calibration.js';
import { rtbench } from './run-cli.js';
import { environment } from '../core/environment.js';
import { formatMs, methodName, renderTable } from '../report/format.js';
import { RAMP_HEADERS, rampRows } from '../scenarios/ramp-report.js';
import type { RampStep } from '../scenarios/ramp-step.js';
import type { RunSummary } from '../core/result.js';

const { values } = parseArgs({ options: { 'skip-ramp': { type: 'boolean', default: false }, out: { type: 'string', default: 'results/benchmarks' } } });
const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
const folder = resolve(String(values.out), stamp);
await mkdir(folder, { recursive: true });

const rtbenchRun = (args: readonly string[]): Promise<RunSummary> => rtbench(args, folder);

const env = environment();
const lines: string[] = [
  `# rtbench benchmark, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${env.cpuModel}, ${env.cores} cores, ${Math.round(env.memoryBytes / 2 ** 30)} GiB, ${env.os}, Node ${env.node}; rtbench ${env.rtbenchVersion}, commit ${env.gitCommit ?? 'unknown'}.`,
  '',
];

process.stderr.write('benchmark: calibration, raw floor\n');
const schedule = { subscribers: 10, bursts: 200, burstSize: 3, gapMs: 50, pauseMs: 100 };
const floor = await measureFloor(schedule);
process.stderr.write('benchmark: calibration, rtbench burst --transport ws\n');
const burst = await rtbenchRun(['burst', '--transport', 'ws']);
const measured = burst.transports[0]?.latencyUs.perMessage;
const ratio = measured?.p50 && floor.p50 ? measured.p50 / floor.p50 : null;
lines.push(
  '## Calibration',
  '',
  'Per-message p50 of `rtbench burst --transport ws` (built-in Fastify server, no delay) against the raw floor timed in the same run: a bare node:http + ws server that pushes each POSTed body to 10 bare ws subscribers, on the same schedule (200 bursts of 3, 50 ms apart, 100 ms pause). Target: ratio at most 2.',
  '',
  '| | P50 | P90 | P99 | Max (ms) | messages |',
  '|---|---:|---:|---:|---:|---:|',
  `| raw floor | ${formatMs(floor.p50)} | ${formatMs(floor.p90)} | ${formatMs(floor.p99)} | ${formatMs(floor.max)} | ${floor.count} |`,
  `| rtbench burst, ws | ${formatMs(measured?.p50 ?? null)} | ${formatMs(measured?.p90 ?? null)} | ${formatMs(measured?.p99 ?? null)} | ${formatMs(measured?.max ?? null)} | ${measured?.count ?? 0} |`,
  '',
  `Ratio of p50s: **${ratio === null ? '-' : ratio.toFixed(2)}** (${ratio !== null && ratio <= 2 ? 'within' : 'outside'} the target of 2).`,
  '',
);

if (!values['skip-ramp']) {
  process.stderr.write('benchmark: rtbench ramp --transport all (several minutes)\n');
  const ramp = await rtbenchRun(['ramp', '--transport', 'all']);
  lines.push('## Ramp', '', 'Command: `rtbench ramp --transport all` (steps 100, 1,000, 5,000, 10,000; all subscribers in one room; 10 messages per step at 2/s; 2 worker threads; hold 5 s). `*` marks a step whose generator was saturated.', '');
  for (const result of ramp.transports) {
    const steps = result.details?.steps as readonly RampStep[] | undefined;
    const table = steps ? renderTable(RAMP_HEADERS, rampRows(steps)) : null;
    const details = result.details as { verdict?: string; breakingPoint?: { cause?: string } | null } | null;
    lines.push(`### ${methodName(result)}: ${details?.verdict ?? result.state}${details?.breakingPoint?.cause ? `: ${details.breakingPoint.cause}` : ''}`, '', table ?? '(no steps)', '');
    if (result.generator.saturationReasons.length > 0) lines.push(`Generator saturation: ${result.generator.saturationReasons.join('; ')}.`, '');
    if (result.error) lines.push(`Error: ${result.error.code}: ${result.error.message}`, '');
  }
}

const report = `${lines.join('\n')}\n`;
await writeFile(join(folder, 'report.md'), report);
process.stdout.write(report);
process.stderr.write(`benchmark: written to ${join(folder, 'report.md')}\n`);
