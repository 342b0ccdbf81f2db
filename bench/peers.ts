#!/usr/bin/env node
/**
 * The built-in servers beside real servers written by others, in one run on one machine
 * (`npm run bench:peers`): the same burst against the reference servers (every transport), RabbitMQ
 * Web-STOMP (STOMP) and nginx + nchan (WebSocket, SSE, long polling). Writes
 * docs/measurements/<time>-peers/report.md (the runs under runs/), indexes it and prints it.
 *
 *   npm run bench:peers                      # the default burst (10 subscribers, 200 bursts of 3)
 *   npm run bench:peers -- --delay 50        # any burst option is passed on to every run
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSummary } from '../core/result.js';
import { formatMs, formatPct, methodName, renderTable } from '../output/format.js';
import { documentHeader, indexMeasurements, measurementFolder, reportOfRuns } from './measurements.js';
import { rtbench } from './run-cli.js';
import { RABBITMQ_WEB_STOMP, nchanMissing, rabbitmqMissing, startNchan } from './services.js';

const extra = process.argv.slice(2);
const document = await measurementFolder('peers');
const { root, folder: documentFolder, runs: folder, started } = document;

const runs: Array<{ server: string; summary: RunSummary }> = [];
const skipped: string[] = [];

process.stderr.write('peers: built-in servers\n');
runs.push({ server: 'rtbench reference server', summary: await rtbench(['burst', '--transport', 'all', ...extra], folder) });

const rabbitmq = await rabbitmqMissing();
if (rabbitmq) skipped.push(`RabbitMQ: ${rabbitmq}`);
else {
  process.stderr.write('peers: RabbitMQ Web-STOMP\n');
  runs.push({ server: 'RabbitMQ Web-STOMP', summary: await rtbench(['burst', '--profile', 'rabbitmq', '--target', RABBITMQ_WEB_STOMP, ...extra], folder) });
}

const nchan = nchanMissing();
if (nchan) skipped.push(`nchan: ${nchan}`);
else {
  process.stderr.write('peers: nginx + nchan\n');
  const server = await startNchan();
  try {
    runs.push({ server: 'nginx + nchan', summary: await rtbench(['burst', '--profile', 'nchan', '--target', server.url, ...extra], folder) });
  } finally {
    await server.stop();
  }
}

const rows = runs.flatMap(({ server, summary }) =>
  summary.transports.map((r) => {
    const l = r.latencyUs.perMessage;
    return [
      server, methodName(r),
      formatMs(l.p50), formatMs(l.p95), formatMs(l.p99), formatMs(l.max),
      `${r.messages.lost}/${r.messages.expected}`, String(r.messages.duplicated), String(r.messages.outOfOrder),
      formatMs(r.latencyUs.publishRtt.p50), formatMs(r.latencyUs.fanOutSpread.p99),
      formatPct(r.serverUsage?.cpuPctAvg), formatPct(r.generator.cpuPctAvg), r.generator.saturated ? 'YES' : 'no',
    ];
  }),
);
const report = [
  ...documentHeader('rtbench beside real servers', started, `\`npm run bench:peers${extra.length ? ` -- ${extra.join(' ')}` : ''}\`: \`rtbench burst${extra.length ? ` ${extra.join(' ')}` : ''}\` against each server, one after another (per-message latency from the scheduled send, ms; the runs are under runs/).`),
  renderTable(['Server', 'Transport', 'P50', 'P95', 'P99', 'Max (ms)', 'Lost', 'Dup', 'Out of order', 'Publish RTT P50', 'Fan-out P99', 'Server CPU %', 'Generator CPU %', 'Saturated'], rows),
  '',
  ...skipped.map((line) => `Not measured: ${line}.`),
  '',
  reportOfRuns(document),
  '',
].join('\n');
await writeFile(join(documentFolder, 'report.md'), report);
await indexMeasurements(root);
process.stdout.write(report);
