#!/usr/bin/env node
/**
 * The benchmark the README quotes (`npm run bench`): the calibration of rtbench against raw floors
 * of each kind, the cost per delivery of generator and server, then the full ramp for every transport. Writes results/benchmarks/<timestamp>/report.md
 * (and the runs' own result folders) and prints the report.
 *
 *   npm run bench                # calibration (ws, sse, stomp), cost per delivery, ramp 100 -> 10,000 for every transport
 *   npm run bench -- --skip-ramp # calibration and cost per delivery only
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureFloor } from './calibration.js';
import { type BareKind, measureBareReceiver } from './bare-receiver.js';
import { rtbench } from './run-cli.js';
import { environment } from '../core/environment.js';
import { formatMs, formatOwnDelay, methodName, renderTable } from '../report/format.js';
import type { ThroughputStep } from '../scenarios/throughput-report.js';
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

// Calibration: rtbench against a raw floor of its own kind, same schedule, same run.
const schedule = { subscribers: 10, bursts: 200, burstSize: 3, gapMs: 50, pauseMs: 100 };
const OVERHEAD_TARGET = 1.25;
lines.push(
  '## Calibration',
  '',
  `Per-message p50 of \`rtbench burst --transport <t>\` (built-in Fastify server, no delay) against a raw floor of the same kind timed in the same run: a bare node:http server (bench/floor-server.ts) that pushes each POSTed body to 10 bare subscribers (\`ws\` frames, \`data:\` events on a bare HTTP stream, or STOMP MESSAGE frames over \`ws\`), on the same schedule (200 bursts of 3, 50 ms apart, 100 ms pause). Target: ratio at most ${OVERHEAD_TARGET}. A second floor puts the same bare clients and publisher on rtbench's built-in server (contract A), which splits the ratio into what the server adds (built-in floor / raw floor) and what rtbench's generator adds (rtbench / built-in floor).`,
  '',
  '| Transport | Raw floor P50 | P99 | Built-in server floor P50 | P99 | rtbench P50 | P99 (ms) | Ratio of p50s | Within target | Server part | Generator part |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
);
for (const kind of ['ws', 'sse', 'stomp'] as const) {
  process.stderr.write(`benchmark: calibration, raw ${kind} floor\n`);
  const floor = await measureFloor(schedule, kind);
  process.stderr.write(`benchmark: calibration, bare ${kind} clients on the built-in server\n`);
  const serverFloor = await measureFloor(schedule, kind, 'reference');
  process.stderr.write(`benchmark: calibration, rtbench burst --transport ${kind}\n`);
  const burst = await rtbenchRun(['burst', '--transport', kind]);
  const measured = burst.transports[0]?.latencyUs.perMessage;
  const ratioOf = (a: number | null | undefined, b: number | null | undefined): string => (a && b ? (a / b).toFixed(2) : '-');
  const ratio = measured?.p50 && floor.p50 ? measured.p50 / floor.p50 : null;
  lines.push(
    `| ${kind} | ${formatMs(floor.p50)} | ${formatMs(floor.p99)} | ${formatMs(serverFloor.p50)} | ${formatMs(serverFloor.p99)} | ${formatMs(measured?.p50 ?? null)} | ${formatMs(measured?.p99 ?? null)} | ${ratio === null ? '-' : ratio.toFixed(2)} | ${ratio !== null && ratio <= OVERHEAD_TARGET ? 'yes' : 'NO'} | ${ratioOf(serverFloor.p50, floor.p50)} | ${ratioOf(measured?.p50, serverFloor.p50)} |`,
  );
}
lines.push('');

// Cost per delivery: one room, a steady rate, one 30 s step; CPU over that step's steady seconds only.
/** Seconds at the start of a step left out of the cost: the switch from connecting and warm-up to publishing (JIT, GC) lands there. */
const SETTLE_S = 5;
lines.push(
  '## Cost per delivery',
  '',
  `CPU (ms of one core) each side spends per 1,000 delivered messages, all subscribers in one room, over one 30 s step of \`rtbench throughput\` (after connecting and warm-up): 2 messages/s to 1,000 subscribers, 0.5/s to 10,000. CPU and deliveries are summed from the run's per-second samples, leaving out the step's first ${SETTLE_S} s (the switch from connecting to publishing: JIT and GC put the generator near a full core for about a second there, which is not a cost per delivery). Target: the generator costs at most what the server does (ratio at most 1).`,
  '',
  `The last column is a yardstick measured right after, on the same schedule and for the same ${SETTLE_S + 25} s (bench/bare-receiver.ts): the cheapest receiver Node can be, plain sockets on two worker threads that send the subscribe request and then only count what they read (no frame decoded, nothing parsed or matched), against a built-in server of its own. Its ms per 1,000 deliveries, and in brackets that against its server's, is what any Node generator pays per message before it reads one: the epoll wake-up, the read() and the call into JavaScript.`,
  '',
  '| Transport | Subscribers | Delivered/s | Server CPU % | Generator CPU % | Server ms/1k | Generator ms/1k | Generator/server | Own delay P99 <= (ms) | Generator saturated | Bare Node receiver ms/1k (/ its server) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
);
/** The bare receiver's cost per 1,000 deliveries, and against its server's, as a cell. */
async function bareCell(transport: string, subscribers: number, rate: number): Promise<string> {
  if (transport === 'long-polling') return '-';
  process.stderr.write(`benchmark: bare receiver, ${transport}, ${subscribers} subscribers\n`);
  const bare = await measureBareReceiver(transport as BareKind, subscribers, rate, SETTLE_S + 25, SETTLE_S);
  const receiver = (bare.receiverCpuMs * 1000) / bare.deliveries;
  return `${receiver.toFixed(1)} (${(bare.receiverCpuMs / bare.serverCpuMs).toFixed(2)})`;
}
for (const [subscribers, rate] of [[1000, 2], [10_000, 0.5]] as const) {
  process.stderr.write(`benchmark: cost per delivery, ${subscribers} subscribers in one room\n`);
  const run = await rtbenchRun(['throughput', '--transport', 'all', '--rooms', '1', '--subscribers', String(subscribers), '--rates', String(rate), '--step', '30s', '--slo', 'p99<10s']);
  for (const result of run.transports) {
    const step = (result.details?.steps as readonly ThroughputStep[] | undefined)?.[0];
    const steady = result.samples.filter((row) => row.measuring && row.step === 1).slice(SETTLE_S);
    const delivered = steady.reduce((sum, row) => sum + row.messagesReceived, 0);
    if (!step || steady.length === 0 || delivered === 0) {
      lines.push(`| ${methodName(result)} | ${subscribers} | - | - | - | - | - | - | - | ${result.error ? `${result.error.code}` : 'no steady step'} | - |`);
      continue;
    }
    const cpuOf = (role: 'server' | 'generator'): number | null => {
      const values = steady.map((row) => row[`${role}CpuPct`]);
      return values.every((value) => value !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null;
    };
    // Each row is one second: CPU % x 10 is ms of one core in it.
    const perThousand = (cpuPctSum: number | null): number | null => (cpuPctSum === null ? null : (cpuPctSum * 10 * 1000) / delivered);
    const server = perThousand(cpuOf('server'));
    const generator = perThousand(cpuOf('generator'));
    const ratio = server && generator !== null ? generator / server : null;
    const average = (sum: number | null): string => (sum === null ? '-' : (sum / steady.length).toFixed(1));
    lines.push(
      `| ${methodName(result)} | ${subscribers} | ${Math.round(delivered / steady.length)} | ${average(cpuOf('server'))} | ${average(cpuOf('generator'))} | ${server?.toFixed(1) ?? '-'} | ${generator?.toFixed(1) ?? '-'} | ${ratio?.toFixed(2) ?? '-'} | ${formatOwnDelay(step.generator)} | ${step.generator.saturated ? `yes: ${step.generator.saturationReasons.join('; ')}` : 'no'} | ${await bareCell(result.transport, subscribers, rate)} |`,
    );
  }
}
lines.push('');

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
