#!/usr/bin/env node
/**
 * Runs the delay proxy as its own process, so the time it spends delaying bytes is not taken from
 * the load generator's event loop (and its CPU is measured apart). Prints one JSON line
 * `{"url", "pid"}`. Reads commands on standard input, one per line: `cut`, `refuse on`, `refuse off`,
 * `stall up|down <ms>`, `loss <probability> <ms>`;
 * exits when standard input closes, so it never outlives the harness.
 */
import { createInterface } from 'node:readline';
import { DelayProxy, type DelayProxyOptions } from './proxy.js';

const options = JSON.parse(process.argv[2] ?? '{}') as DelayProxyOptions;
const proxy = new DelayProxy(options);
const url = await proxy.listen();
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);

const shutdown = (): void => {
  void proxy.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'cut') process.stdout.write(`${JSON.stringify({ cut: proxy.cutAll() })}\n`);
  else if (command === 'refuse on') proxy.setRefusing(true);
  else if (command === 'refuse off') proxy.setRefusing(false);
  else if (command.startsWith('stall ')) {
    const [, direction, ms] = command.split(' ');
    if ((direction === 'up' || direction === 'down') && Number(ms) >= 0) proxy.stall(direction, Number(ms));
  } else if (command.startsWith('loss ')) {
    const [, probability, ms] = command.split(' ').map(Number);
    if (probability !== undefined && ms !== undefined && probability >= 0 && probability <= 1 && ms >= 0) proxy.randomLoss(probability, ms);
  }
});
lines.on('close', shutdown);
