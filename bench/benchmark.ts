#!/usr/bin/env node
/**
 * `npm run bench`: the calibration of rtbench against raw floors of each kind, the cost per delivery
 * of generator and server beside the cheapest Node receiver, the publisher's ceiling beside
 * autocannon's, then the full ramp for every transport. Writes a dated folder under
 * docs/measurements/ (its report.md, and the runs' own result folders under runs/), updates that
 * folder's index, and prints the report.
 *
 *   npm run bench                # everything
 *   npm run bench -- --skip-ramp # without the ramp
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measurePublishFloor } from './publish-floor.js';
import { documentHeader, indexMeasurements, measurementFolder, reportOfRuns } from './measurements.js';
import { measureFloor } from './calibration.js';
import { type BareKind, measureBareReceiver } from './bare-receiver.js';
import { rtbench } from './run-cli.js';
import { formatMs, formatOwnDelay, methodName, renderTable } from '../output/format.js';
import { RAMP_HEADERS, rampRows } from '../scenarios/ramp-tables.js';
import type { RunSummary } from '../core/result.js';
import type { LatencyStats } from '../core/histogram.js';
import { median } from '../analysis/stats.js';
import { type ThroughputStep, detailsOf } from '../core/details.js';

const { values } = parseArgs({ options: { 'skip-ramp': { type: 'boolean', default: false }, out: { type: 'string', default: 'docs/measurements' } } });
const document = await measurementFolder('bench', String(values.out));
const { root, folder, runs: runsFolder, started } = document;

const rtbenchRun = (args: readonly string[]): Promise<RunSummary> => rtbench(args, runsFolder);

const lines: string[] = [
  ...documentHeader('rtbench benchmark', started, `\`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (written by bench/benchmark.ts; the runs it made are under runs/).`),
  '<!-- targets -->',
  '',
];
/** Each target with what was measured against it, filled in as the sections run, and put at the top. */
const targets: string[] = [];
const target = (what: string, measured: string, met: boolean | null): void => void targets.push(`| ${what} | ${measured} | ${met === null ? 'not measured' : met ? 'yes' : 'NO'} |`);

// Calibration: rtbench against a raw floor of its own kind, same schedule, same run.
const schedule = { subscribers: 10, bursts: 100, burstSize: 3, gapMs: 50, pauseMs: 100 };
/**
 * Each figure is the median of this many repetitions, taken in turn (every kind's raw floor, built-in
 * floor and rtbench burst, then again): on a shared VM one p50 near 1 ms moves by a tenth of itself
 * from run to run, enough to move a ratio between two single runs of the same commit.
 */
const CALIBRATION_REPEATS = 3;
const OVERHEAD_TARGET = 1.25;
lines.push(
  '## Calibration',
  '',
  `Per-message p50 of \`rtbench burst --transport <t> --bursts ${schedule.bursts}\` (built-in Fastify server, no delay) against a raw floor of the same kind timed in the same run: a bare node:http server (bench/floor-server.ts) that pushes each POSTed body to 10 bare subscribers (\`ws\` frames, \`data:\` events on a bare HTTP stream, or STOMP MESSAGE frames over \`ws\`), on the same schedule (${schedule.bursts} bursts of 3, 50 ms apart, 100 ms pause). Target: ratio at most ${OVERHEAD_TARGET}. A second floor puts the same bare clients and publisher on rtbench's built-in server (contract A), which splits the ratio into what the server adds (built-in floor / raw floor) and what rtbench's generator adds (rtbench / built-in floor). Each figure is the median of ${CALIBRATION_REPEATS} repetitions taken in turn (all three kinds, then again), and the ratio is that of the medians; the last column gives each repetition's own ratio, to show the spread.`,
  '',
  '| Transport | Raw floor P50 | P99 | Built-in server floor P50 | P99 | rtbench P50 | P99 (ms) | Ratio of p50s | Within target | Server part | Generator part | Ratio per repetition |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|',
);
const KINDS = ['ws', 'sse', 'stomp'] as const;
type Calibrated = { floor: LatencyStats; serverFloor: LatencyStats; measured: LatencyStats | null };
const calibrations = new Map<(typeof KINDS)[number], Calibrated[]>(KINDS.map((kind) => [kind, []]));
for (let repeat = 1; repeat <= CALIBRATION_REPEATS; repeat++) {
  for (const kind of KINDS) {
    const of = `${kind}, ${repeat}/${CALIBRATION_REPEATS}`;
    process.stderr.write(`benchmark: calibration, raw ${of} floor\n`);
    const floor = await measureFloor(schedule, kind);
    process.stderr.write(`benchmark: calibration, bare ${of} clients on the built-in server\n`);
    const serverFloor = await measureFloor(schedule, kind, 'reference');
    process.stderr.write(`benchmark: calibration, rtbench burst --transport ${of}\n`);
    const burst = await rtbenchRun(['burst', '--transport', kind, '--bursts', String(schedule.bursts)]);
    calibrations.get(kind)?.push({ floor, serverFloor, measured: burst.transports[0]?.latencyUs.perMessage ?? null });
  }
}
const ratioOf = (a: number | null | undefined, b: number | null | undefined): number | null => (a && b ? a / b : null);
const formatRatio = (ratio: number | null): string => (ratio === null ? '-' : ratio.toFixed(2));
for (const kind of KINDS) {
  const runs = calibrations.get(kind) ?? [];
  const medianFigure = (pick: (run: Calibrated) => number | null | undefined): number | null => median(runs.map(pick).filter((v): v is number => typeof v === 'number'));
  const floorP50 = medianFigure((run) => run.floor.p50);
  const serverP50 = medianFigure((run) => run.serverFloor.p50);
  const measuredP50 = medianFigure((run) => run.measured?.p50);
  const ratio = ratioOf(measuredP50, floorP50);
  const each = runs.map((run) => formatRatio(ratioOf(run.measured?.p50, run.floor.p50))).join(', ');
  lines.push(
    `| ${kind} | ${formatMs(floorP50)} | ${formatMs(medianFigure((run) => run.floor.p99))} | ${formatMs(serverP50)} | ${formatMs(medianFigure((run) => run.serverFloor.p99))} | ${formatMs(measuredP50)} | ${formatMs(medianFigure((run) => run.measured?.p99))} | ${formatRatio(ratio)} | ${ratio !== null && ratio <= OVERHEAD_TARGET ? 'yes' : 'NO'} | ${formatRatio(ratioOf(serverP50, floorP50))} | ${formatRatio(ratioOf(measuredP50, serverP50))} | ${each} |`,
  );
}
lines.push('');

// Cost per delivery: one room, a steady rate, two 30 s steps at that rate; CPU over the second's steady seconds.
/** Seconds at the start of a step left out of the cost: the switch from connecting and warm-up to publishing (JIT, GC) lands there. */
const SETTLE_S = 5;
/** Generator over server CPU per delivery, at most: ws, sse, stomp; long polling (a poll per delivery costs the server more too). */
const COST_TARGET = 0.6;
const COST_TARGET_LONG_POLLING = 0.8;
/** Generator CPU per delivery over the bare receiver's on the same schedule, at most. */
const BARE_TARGET = 1.3;
lines.push(
  '## Cost per delivery',
  '',
  `CPU (ms of one core) each side spends per 1,000 delivered messages, all subscribers in one room, over the second of two 30 s steps of \`rtbench throughput --no-ceiling\` at the same rate: 2 messages/s to 1,000 subscribers, 0.5/s to 10,000. CPU and deliveries are summed from the run's per-second samples, leaving out each step's first ${SETTLE_S} s. The first step is the warm-up (both sides compile their hot code and grow their heaps there); its ratio is in the column "in the first step". Targets: generator/server at most ${COST_TARGET} (long polling ${COST_TARGET_LONG_POLLING}), and at most ${BARE_TARGET} times the bare receiver's.`,
  '',
  `The bare receiver (bench/bare-receiver.ts) is measured right after, on the same schedule and for the same ${SETTLE_S + 25} s: the cheapest receiver Node can be, plain sockets on two worker threads that send the subscribe request and then only count what they read (no frame decoded, nothing parsed or matched, nothing stamped), against a built-in server of its own. Its ms per 1,000 deliveries, and in brackets that against its server's, is what any Node generator pays per message before it reads one: the epoll wake-up, the read() and the call into JavaScript.`,
  '',
  'The rows "STOMP, heart-beats off" repeat the STOMP step with `--heartbeat 0` (neither side sends or expects heart-beats): a STOMP subscriber with nothing else to send must send one every interval (10 s by default, as stompjs does, each connection on its own timer), so at 1,000 subscribers the generator sends 100 a second. The bare receiver sends none, so the heart-beats-off row is the one set against it like for like (its bare column repeats the STOMP measurement).',
  '',
  '| Transport | Subscribers | Delivered/s | Server CPU % | Generator CPU % | Server ms/1k | Generator ms/1k | Generator/server | Generator/server in the first step | Own delay P99 <= (ms) | Generator saturated | Bare Node receiver ms/1k (/ its server) | Generator/bare |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
);
/** The bare receiver's cost per 1,000 deliveries (null for long polling, which it does not speak), and against its own server's. */
const bareCosts = new Map<string, { perThousand: number; ofServer: number }>();
async function bareCost(transport: string, subscribers: number, rate: number): Promise<{ perThousand: number; ofServer: number } | null> {
  if (transport === 'long-polling') return null;
  const known = bareCosts.get(`${transport} ${subscribers}`);
  if (known) return known;
  process.stderr.write(`benchmark: bare receiver, ${transport}, ${subscribers} subscribers\n`);
  const bare = await measureBareReceiver(transport as BareKind, subscribers, rate, SETTLE_S + 25, SETTLE_S);
  const cost = { perThousand: (bare.receiverCpuMs * 1000) / bare.deliveries, ofServer: bare.receiverCpuMs / bare.serverCpuMs };
  bareCosts.set(`${transport} ${subscribers}`, cost);
  return cost;
}
/** CPU and deliveries over one step of a throughput run, its first SETTLE_S seconds left out; null without a steady step. */
interface SteadyUsage {
  readonly seconds: number;
  readonly delivered: number;
  /** Sums of per-second CPU %, null when a second was not sampled. */
  readonly serverCpuPctSum: number | null;
  readonly generatorCpuPctSum: number | null;
}
function steadyUsage(result: RunSummary['transports'][number], step: number): SteadyUsage | null {
  const steady = [...result.samples].filter((row) => row.measuring && row.step === step).slice(SETTLE_S);
  const delivered = steady.reduce((sum, row) => sum + row.messagesReceived, 0);
  if (steady.length === 0 || delivered === 0) return null;
  const cpuOf = (role: 'server' | 'generator'): number | null => {
    const values = steady.map((row) => row[`${role}CpuPct`]);
    return values.every((value) => value !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null;
  };
  return { seconds: steady.length, delivered, serverCpuPctSum: cpuOf('server'), generatorCpuPctSum: cpuOf('generator') };
}
/** ms of one core per 1,000 deliveries over a step's steady seconds. */
const perThousand = (usage: SteadyUsage, cpuPctSum: number | null): number | null => (cpuPctSum === null ? null : (cpuPctSum * 10 * 1000) / usage.delivered);
/** Generator CPU per delivery over the server's, null where either was not sampled. */
function costRatio(usage: SteadyUsage): number | null {
  const server = perThousand(usage, usage.serverCpuPctSum);
  const generator = perThousand(usage, usage.generatorCpuPctSum);
  return server && generator !== null ? generator / server : null;
}
/** Each sample row is one second: CPU % x 10 is ms of one core in it. */
const cpuMsPerS = (cpuPctSum: number | null, seconds: number): number | null => (cpuPctSum === null ? null : (cpuPctSum * 10) / seconds);
const throughputArgs = (subscribers: number, rate: number): string[] => ['throughput', '--transport', 'all', '--rooms', '1', '--subscribers', String(subscribers), '--rates', `${rate},${rate}`, '--step', '30s', '--slo', 'p99<10s', '--no-ceiling'];
/**
 * The same step at a fifth of the rate, for the fixed and marginal split below. (A tenth left the
 * 10,000-subscriber step one fan-out every 20 s: long polling's low step had none in its steady seconds.)
 */
const LOW_RATE_SHARE = 0.2;
const splits: string[] = [];
/** The step measured for the cost: the second, at the same rate whether the first passed or was flagged and run again. */
const measuredStep = (result: RunSummary['transports'][number] | undefined): ThroughputStep | undefined => (result ? detailsOf(result, 'throughput')?.steps[1] : undefined);
/** One row of the cost table, from a throughput run's transport result; null usage when it had no steady second step. */
async function costRow(result: RunSummary['transports'][number], method: string, subscribers: number, bare: () => Promise<{ perThousand: number; ofServer: number } | null>): Promise<SteadyUsage | null> {
  const step = measuredStep(result);
  const usage = step ? steadyUsage(result, step.step) : null;
  if (!step || !usage) {
    lines.push(`| ${method} | ${subscribers} | - | - | - | - | - | - | - | - | ${result.error ? `${result.error.code}` : 'no steady second step'} | - | - |`);
    return null;
  }
  const average = (sum: number | null): string => (sum === null ? '-' : (sum / usage.seconds).toFixed(1));
  const server = perThousand(usage, usage.serverCpuPctSum);
  const generator = perThousand(usage, usage.generatorCpuPctSum);
  const first = steadyUsage(result, 1);
  const ratio = costRatio(usage);
  const bareCost = await bare();
  const ofBare = bareCost && generator !== null ? generator / bareCost.perThousand : null;
  lines.push(
    `| ${method} | ${subscribers} | ${Math.round(usage.delivered / usage.seconds)} | ${average(usage.serverCpuPctSum)} | ${average(usage.generatorCpuPctSum)} | ${server?.toFixed(1) ?? '-'} | ${generator?.toFixed(1) ?? '-'} | ${ratio?.toFixed(2) ?? '-'} | ${(first ? costRatio(first) : null)?.toFixed(2) ?? '-'} | ${formatOwnDelay(step.generator)} | ${step.generator.saturated ? `yes: ${step.generator.saturationReasons.join('; ')}` : 'no'} | ${bareCost ? `${bareCost.perThousand.toFixed(1)} (${bareCost.ofServer.toFixed(2)})` : '-'} | ${ofBare?.toFixed(2) ?? '-'} |`,
  );
  if (!method.includes('heart-beats off')) {
    const limit = result.transport === 'long-polling' ? COST_TARGET_LONG_POLLING : COST_TARGET;
    target(`${method}, ${subscribers} subscribers: generator/server CPU per delivery <= ${limit}`, ratio?.toFixed(2) ?? '-', ratio === null ? null : ratio <= limit);
  }
  if (bareCost) target(`${method}, ${subscribers} subscribers: generator/bare receiver CPU per delivery <= ${BARE_TARGET}`, ofBare?.toFixed(2) ?? '-', ofBare === null ? null : ofBare <= BARE_TARGET);
  return usage;
}
for (const [subscribers, rate] of [[1000, 2], [10_000, 0.5]] as const) {
  process.stderr.write(`benchmark: cost per delivery, ${subscribers} subscribers in one room\n`);
  const run = await rtbenchRun(throughputArgs(subscribers, rate));
  process.stderr.write(`benchmark: cost per delivery, ${subscribers} subscribers in one room, at a fifth of the rate\n`);
  const low = await rtbenchRun(throughputArgs(subscribers, rate * LOW_RATE_SHARE));
  for (const result of run.transports) {
    const usage = await costRow(result, methodName(result), subscribers, () => bareCost(result.transport, subscribers, rate));
    if (!usage) continue;
    const lowResult = low.transports.find((other) => other.transport === result.transport);
    const lowStep = measuredStep(lowResult);
    const lowUsage = lowResult && lowStep ? steadyUsage(lowResult, lowStep.step) : null;
    splits.push(splitRow(methodName(result), subscribers, usage, lowUsage));
  }
  // STOMP subscribers send a heart-beat every 10 s each (STOMP 1.2: a client with nothing else to
  // send must), each on its own timer as a browser's stompjs does; the same step without them shows
  // what they cost each side.
  process.stderr.write(`benchmark: cost per delivery, ${subscribers} STOMP subscribers without heart-beats\n`);
  const quiet = await rtbenchRun([...throughputArgs(subscribers, rate).map((arg) => (arg === 'all' ? 'stomp' : arg)), '--heartbeat', '0']);
  // The bare receiver sends no heart-beats either: this row is the like-for-like one against it.
  for (const result of quiet.transports) await costRow(result, `${methodName(result)}, heart-beats off`, subscribers, () => bareCost(result.transport, subscribers, rate));
}
lines.push('');

/**
 * CPU per second = fixed + marginal x deliveries per second, solved from the two rates: the fixed
 * part is what holding the connections costs with nothing arriving (timers, the monitors, the
 * sampler), the marginal part what one more delivery costs.
 */
function splitRow(method: string, subscribers: number, high: SteadyUsage, low: SteadyUsage | null): string {
  if (!low) return `| ${method} | ${subscribers} | - | - | - | - | - | - | - |`;
  const highRate = high.delivered / high.seconds;
  const lowRate = low.delivered / low.seconds;
  const part = (role: 'server' | 'generator'): { fixedMsPerS: number; marginalUs: number } | null => {
    const highMs = cpuMsPerS(high[`${role}CpuPctSum`], high.seconds);
    const lowMs = cpuMsPerS(low[`${role}CpuPctSum`], low.seconds);
    if (highMs === null || lowMs === null || highRate <= lowRate) return null;
    const marginalMs = (highMs - lowMs) / (highRate - lowRate);
    return { fixedMsPerS: highMs - marginalMs * highRate, marginalUs: marginalMs * 1000 };
  };
  const server = part('server');
  const generator = part('generator');
  const cell = (value: number | undefined, digits = 1): string => (value === undefined ? '-' : value.toFixed(digits));
  const marginalRatio = server && generator && server.marginalUs > 0 ? generator.marginalUs / server.marginalUs : undefined;
  const fixedShare = generator ? (generator.fixedMsPerS * 1000) / highRate : undefined;
  return `| ${method} | ${subscribers} | ${Math.round(lowRate)} / ${Math.round(highRate)} | ${cell(server?.fixedMsPerS)} | ${cell(generator?.fixedMsPerS)} | ${cell(server?.marginalUs)} | ${cell(generator?.marginalUs)} | ${cell(marginalRatio, 2)} | ${cell(fixedShare)} |`;
}
lines.push(
  '### Fixed and marginal cost',
  '',
  `The same steps at a fifth of the rate (their second steps, as above) give, per side, CPU per second as a part that does not grow with the rate plus a marginal part per delivery (a line through the two rates). The first ("fixed") is the line's intercept: what holding the connections costs (for the generator the workers' 500 ms ticks and the once-a-second sampler, which the server does not run), plus whatever a delivery costs less at the higher rate (more of them per wake-up); it is not the idle cost, which for the server is near 0. The last column is the generator's fixed part spread over the full rate's deliveries, in ms per 1,000. Two 25 s samples make noisy estimates: at 10,000 the low step holds two or three fan-outs, and a transport without deliveries in the low step's steady seconds gets dashes.`,
  '',
  '| Transport | Subscribers | Delivered/s (low / full) | Server fixed ms/s | Generator fixed ms/s | Server µs per delivery | Generator µs per delivery | Generator/server, per delivery | Generator fixed, ms/1k at full rate |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...splits,
  '',
);

// Publishing: rtbench's open-loop publisher against autocannon, on the null server's POST /messages.
const PUBLISH_TARGET_PER_S = 5000;
process.stderr.write('benchmark: publishing, rtbench against autocannon on the null server\n');
const publishing = await measurePublishFloor([1000, 2000, 5000, 10_000, 20_000, 40_000], 2);
lines.push(
  '## Publishing',
  '',
  `rtbench's publisher (one POST /messages per message over up to ${publishing.connections} keep-alive connections, open loop: every send at its scheduled time, as every scenario publishes) alone against the null server (servers/null-server.ts), 2 s at each rate, the rate doubled or so until one is not kept (a publish failed, or the send lag p99 passed the generator's saturation limit, 5 ms; on schedule: within 2 ms), a rate not on schedule tried once more (marked "again") and judged by that second try; then autocannon against the same endpoint with the same body and ${publishing.connections} connections for 5 s, closed loop (each connection sends its next request when the last is answered): the most requests a second a Node load generator pushes there. Target: rtbench offers ${PUBLISH_TARGET_PER_S} a second or more on schedule.`,
  '',
  '| Offered/s | Accepted/s | Send lag P99 (ms) | Publish RTT P99 (ms) | Failed | On schedule (2 ms) | Kept (5 ms) |',
  '|---:|---:|---:|---:|---:|---|---|',
  ...publishing.rtbench.map((step) => `| ${step.offeredPerS}${step.retry ? ' (again)' : ''} | ${step.achievedPerS} | ${formatMs(step.sendLagP99Us)} | ${formatMs(step.publishRttP99Us)} | ${step.failed} | ${step.held ? 'yes' : 'NO'} | ${step.kept ? 'yes' : 'NO'} |`),
  '',
  `rtbench held ${publishing.rtbenchHeldPerS ?? 'no rate'}${publishing.rtbenchHeldPerS === null ? '' : ' publishes/s'} on schedule and kept ${publishing.rtbenchKeptPerS ?? 'no rate'}${publishing.rtbenchKeptPerS === null ? '' : '/s'} within 5 ms; autocannon pushed ${publishing.autocannonPerS} requests/s (its latency p99 ${publishing.autocannonLatencyP99Ms} ms).`,
  '',
);
target(`Publisher: publishes/s offered on schedule (send lag p99 <= 2 ms) >= ${PUBLISH_TARGET_PER_S}`, `${publishing.rtbenchHeldPerS ?? 0} (autocannon, closed loop: ${publishing.autocannonPerS})`, (publishing.rtbenchHeldPerS ?? 0) >= PUBLISH_TARGET_PER_S);

if (!values['skip-ramp']) {
  process.stderr.write('benchmark: rtbench ramp --transport all (several minutes)\n');
  const ramp = await rtbenchRun(['ramp', '--transport', 'all']);
  lines.push('## Ramp', '', 'Command: `rtbench ramp --transport all` (steps 100, 1,000, 5,000, 10,000; all subscribers in one room; 10 messages per step at 2/s; 2 worker threads; hold 5 s). `*` marks a step whose generator was saturated.', '');
  for (const result of ramp.transports) {
    const details = detailsOf(result, 'ramp');
    const table = details ? renderTable(RAMP_HEADERS, rampRows(details.steps)) : null;
    lines.push(`### ${methodName(result)}: ${details?.verdict ?? result.state}${details?.breakingPoint?.cause ? `: ${details.breakingPoint.cause}` : ''}`, '', table ?? '(no steps)', '');
    if (result.generator.saturationReasons.length > 0) lines.push(`Generator saturation: ${result.generator.saturationReasons.join('; ')}.`, '');
    if (result.error) lines.push(`Error: ${result.error.code}: ${result.error.message}`, '');
  }
}

lines.push('## Charts', '', reportOfRuns(document), '');
const targetTable = ['## Targets', '', '| Target | Measured | Met |', '|---|---|---|', ...targets, ''];
const report = `${lines.join('\n').replace('<!-- targets -->', targetTable.join('\n'))}\n`;
await writeFile(join(folder, 'report.md'), report);
await indexMeasurements(root);
process.stdout.write(report);
process.stderr.write(`benchmark: written to ${join(folder, 'report.md')}\n`);
