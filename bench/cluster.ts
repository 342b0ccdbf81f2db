#!/usr/bin/env node
/**
 * What the Redis bus costs (`npm run bench:cluster`): the same burst, and the same short ramp, for
 * every transport on one built-in instance with its in-memory bus, then on 1, 2 and 3 instances
 * sharing Redis, one after another in one run. Reports latency, loss, the servers' CPU (every
 * instance added up) per 1,000 deliveries and Redis's own CPU over each run (read from /proc: Redis
 * must be on this machine). Writes docs/measurements/<time>-cluster/report.md (the runs under runs/),
 * indexes it and prints it.
 *
 *   npm run bench:cluster                 # burst and ramp
 *   npm run bench:cluster -- --skip-ramp  # burst only
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rtbench } from './run-cli.js';
import { documentHeader, indexMeasurements, measurementFolder, reportOfRuns } from './measurements.js';
import { redisClient } from '../core/redis.js';
import { TRANSPORTS } from '../core/transports.js';
import { procStat } from '../core/proc-stat.js';
import { formatMs, methodName, renderTable } from '../output/format.js';
import type { RunSummary, TransportResult } from '../core/result.js';
import { detailsOf } from '../core/details.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const CLUSTERS = [
  { instances: 1, bus: 'memory' },
  { instances: 1, bus: 'redis' },
  { instances: 2, bus: 'redis' },
  { instances: 3, bus: 'redis' },
] as const;
const BURST = ['burst', '--subscribers', '100', '--bursts', '100'];
const RAMP_STEPS = '100,1000,3000';
const RAMP = ['ramp', '--steps', RAMP_STEPS, '--rooms', '1', '--messages', '10', '--rate', '2', '--hold', '0'];

const { values } = parseArgs({ options: { 'skip-ramp': { type: 'boolean', default: false }, out: { type: 'string', default: 'docs/measurements' } } });
const document = await measurementFolder('cluster', String(values.out));
const { root, folder: documentFolder, runs: folder, started } = document;

/** Redis's pid, read from Redis itself; its CPU is read from /proc, so Redis must run here. */
async function redisPid(): Promise<number> {
  const client = redisClient(REDIS_URL);
  await client.connect();
  try {
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } finally {
    await client.close();
  }
}

/** CPU ms a process has used so far. */
function cpuMsOf(pid: number): number {
  const stat = procStat(pid);
  if (stat === null) throw new Error(`cannot read the CPU of pid ${pid} from /proc`);
  return stat.cpuMs;
}

/** Runs rtbench and returns its summary with Redis's CPU over the run, in % of one core. */
async function measured(args: readonly string[], pid: number): Promise<{ summary: RunSummary; redisCpuPct: number }> {
  const beforeMs = cpuMsOf(pid);
  const startedMs = performance.now();
  const summary = await rtbench(args, folder);
  return { summary, redisCpuPct: ((cpuMsOf(pid) - beforeMs) / (performance.now() - startedMs)) * 100 };
}

function busArgs(cluster: (typeof CLUSTERS)[number]): string[] {
  return cluster.bus === 'memory' ? [] : ['--instances', String(cluster.instances), '--bus', REDIS_URL];
}

/** Server CPU ms (every instance) per 1,000 deliveries over the measured seconds. */
function serverMsPerThousand(result: TransportResult): number | null {
  const rows = [...result.samples].filter((row) => row.measuring && row.serverCpuPct !== null);
  const cpuMs = rows.reduce((sum, row, i) => sum + ((row.serverCpuPct as number) / 100) * 1000 * (i === 0 ? 1 : row.elapsedS - (rows[i - 1] as typeof row).elapsedS), 0);
  return result.messages.received > 0 && rows.length > 0 ? (cpuMs * 1000) / result.messages.received : null;
}

function label(cluster: (typeof CLUSTERS)[number]): string {
  return cluster.bus === 'memory' ? '1, memory' : `${cluster.instances}, Redis`;
}

/** Every transport on every cluster shape, one run each in this order, and a table row from each. */
async function overEveryCluster(kind: string, args: readonly string[], row: (result: TransportResult, cluster: (typeof CLUSTERS)[number], redisCpuPct: number) => string[]): Promise<string[][]> {
  const rows: string[][] = [];
  for (const transport of TRANSPORTS) {
    for (const cluster of CLUSTERS) {
      process.stderr.write(`benchmark: ${kind} ${transport} on ${label(cluster)}\n`);
      const { summary, redisCpuPct } = await measured([...args, '--transport', transport, ...busArgs(cluster)], pid);
      rows.push(row(summary.transports[0] as TransportResult, cluster, redisCpuPct));
    }
  }
  return rows;
}

const pid = await redisPid();
const lines: string[] = [
  ...documentHeader('rtbench cluster benchmark', started, `\`npm run bench:cluster${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (the runs are under runs/). Redis ${REDIS_URL} on the same machine; every instance, Redis and the generator share the same cores.`),
  '## Burst',
  '',
  `Command: \`rtbench ${BURST.join(' ')} --transport <t> [--instances N --bus redis]\` (100 subscribers spread round-robin, publishes round-robin). Server CPU is every instance added up, per 1,000 deliveries over the measured seconds; Redis CPU is its share of one core over the whole run (connecting included).`,
  '',
];
const burstRows = await overEveryCluster('burst', BURST, (result, cluster, redisCpuPct) => {
  const latency = result.latencyUs.perMessage;
  const perThousand = serverMsPerThousand(result);
  return [
    methodName(result), label(cluster), formatMs(latency.p50), formatMs(latency.p99), `${result.messages.lost}/${result.messages.expected}`,
    String(result.serverUsage?.cpuPctAvg ?? '-'), perThousand === null ? '-' : perThousand.toFixed(1), cluster.bus === 'memory' ? '-' : redisCpuPct.toFixed(1),
    result.generator.saturated ? 'yes' : 'no',
  ];
});
lines.push(renderTable(['Transport', 'Instances, bus', 'P50', 'P99 (ms)', 'Lost', 'Server CPU avg %', 'Server ms/1k', 'Redis CPU %', 'Generator saturated'], burstRows), '');

if (!values['skip-ramp']) {
  lines.push(
    '## Ramp',
    '',
    `Command: \`rtbench ${RAMP.join(' ')} --transport <t> [--instances N --bus redis]\`: all subscribers in one room, 10 messages per step. Each cell: p99 (ms) at that step, \`*\` where the generator was saturated; the last column, Redis's CPU over the whole run.`,
    '',
  );
  const stepCounts = RAMP_STEPS.split(',');
  const rampRows = await overEveryCluster('ramp', RAMP, (result, cluster, redisCpuPct) => {
    const steps = detailsOf(result, 'ramp')?.steps ?? [];
    const cells = stepCounts.map((count) => {
      const step = steps.find((s) => s.target === Number(count));
      return step ? `${formatMs(step.latencyUs.perMessage.p99)}${step.generator.saturated ? '*' : ''}${step.messages.lost > 0 ? ` (lost ${step.messages.lost})` : ''}` : '-';
    });
    return [methodName(result), label(cluster), ...cells, cluster.bus === 'memory' ? '-' : redisCpuPct.toFixed(1)];
  });
  lines.push(renderTable(['Transport', 'Instances, bus', ...stepCounts.map((c) => `P99 at ${c}`), 'Redis CPU %'], rampRows), '');
}

lines.push('## Charts', '', reportOfRuns(document), '');
const report = `${lines.join('\n')}\n`;
await writeFile(join(documentFolder, 'report.md'), report);
await indexMeasurements(root);
process.stdout.write(report);
process.stderr.write(`benchmark: written to ${join(documentFolder, 'report.md')}\n`);
