#!/usr/bin/env node
/**
 * What one `fetch` costs the system's Chromium on this machine, by process, in three kinds of page
 * (`npm run bench:browser`): a page nothing is attached to (its own script polls), rtbench's page
 * (clients/browser/detached-page.ts, the loop started over its DevTools session as rtbench starts
 * its clients), and a page Playwright drives. Each polls a local server with back-to-back `fetch`
 * calls for a fixed time; the server counts them, /proc gives each Chromium process's CPU. It is
 * the floor under a long-polling Chromium subscriber: what the browser spends per poll however
 * the page is driven. Writes docs/measurements/<time>-browser/report.md, indexes it and prints it.
 *
 *   npm run bench:browser
 *   npm run bench:browser -- --chromium /usr/bin/chromium-browser
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { browserProcesses, findChromium, launchChromium, launchTag } from '../clients/browser/chromium.js';
import { DetachedPages } from '../clients/browser/detached-page.js';
import { procStat } from '../core/proc-stat.js';
import { renderTable } from '../output/format.js';
import { documentHeader, indexMeasurements, measurementFolder } from './measurements.js';

/** Before counting: the page's first requests open the connection and warm its code. */
const WARM_MS = 1_000;
const MEASURE_MS = 6_000;
const POLL_LOOP = "(async () => { for (;;) await (await fetch('/poll', { cache: 'no-store' })).text(); })(); 1";
/** An answer the size of a one-message long poll of contract A. */
const ANSWER = JSON.stringify([{ id: 1, chatRoomId: 'room', content: 'rtb:0000000000000000:0000000000:0', createdAt: '2026-01-01T00:00:00.000Z' }]);
const KINDS = ['browser', 'network', 'renderer', 'gpu-process', 'other'] as const;
type ProcessKind = (typeof KINDS)[number];

const chromiumAt = process.argv.indexOf('--chromium');
const chromiumPath = chromiumAt > 0 ? process.argv[chromiumAt + 1] : findChromium();
if (!chromiumPath) {
  process.stderr.write('bench:browser: no Chromium on PATH (apt-get install -y chromium), or give --chromium PATH\n');
  process.exit(2);
}

let polls = 0;
const server = http.createServer((request, response) => {
  if (request.url === '/poll') {
    polls++;
    response.setHeader('content-type', 'application/json');
    response.end(ANSWER);
    return;
  }
  response.setHeader('content-type', 'text/html');
  response.end(request.url === '/self-polling' ? `<!doctype html><script>${POLL_LOOP}</script>` : '<!doctype html><title>blank</title>');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** A Chromium process's kind, from the type Chromium gives it on its command line. */
function kindOf(pid: number): ProcessKind {
  const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  const type = /--type=([a-z-]+)/.exec(commandLine)?.[1];
  if (type === undefined) return commandLine.includes('crashpad') ? 'other' : 'browser';
  if (type === 'utility') return commandLine.includes('network.mojom.NetworkService') ? 'network' : 'other';
  return type === 'renderer' || type === 'gpu-process' ? type : 'other';
}

/** CPU time (ms) of every process of one launch, by kind. */
function cpuByKind(tag: string): Record<ProcessKind, number> {
  const cpu: Record<ProcessKind, number> = { browser: 0, network: 0, renderer: 0, 'gpu-process': 0, other: 0 };
  for (const pid of browserProcesses(tag)) {
    const stat = procStat(pid);
    if (stat === null) continue; // The process ended between the listing and the reading.
    try {
      cpu[kindOf(pid)] += stat.cpuMs;
    } catch {
      // Its command line went with it.
    }
  }
  return cpu;
}

interface Row {
  readonly page: string;
  readonly polls: number;
  readonly perPollUs: Record<ProcessKind, number>;
}

/** Polls counted by the server and Chromium's CPU over MEASURE_MS, after WARM_MS. */
async function measure(page: string, tag: string): Promise<Row> {
  await new Promise((resolve) => setTimeout(resolve, WARM_MS));
  const before = cpuByKind(tag);
  const pollsBefore = polls;
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
  const after = cpuByKind(tag);
  const counted = polls - pollsBefore;
  const perPollUs = Object.fromEntries(KINDS.map((kind) => [kind, counted > 0 ? ((after[kind] - before[kind]) * 1000) / counted : 0])) as Record<ProcessKind, number>;
  return { page, polls: counted, perPollUs };
}

/** One fresh browser per kind of page, so one page's loop never runs beside another's. */
async function withBrowser(name: string, run: (browser: Awaited<ReturnType<typeof launchChromium>>, tag: string) => Promise<Row>): Promise<Row> {
  const tag = launchTag(`floor-${process.pid}`, rows.length);
  const browser = await launchChromium(chromiumPath!, tag);
  try {
    process.stderr.write(`bench:browser: ${name}\n`);
    return await run(browser, tag);
  } finally {
    await browser.close();
  }
}

const rows: Row[] = [];
let version = '';
rows.push(
  await withBrowser('a page nothing is attached to', async (browser, tag) => {
    version = browser.version();
    const session = await browser.newBrowserCDPSession();
    const { browserContextId } = await session.send('Target.createBrowserContext', { disposeOnDetach: true });
    await session.send('Target.createTarget', { url: `${origin}/self-polling`, browserContextId });
    return measure('nothing attached (the page polls by itself)', tag);
  }),
);
rows.push(
  await withBrowser("rtbench's page", async (browser, tag) => {
    const pages = await DetachedPages.open(browser);
    const page = await pages.open(`${origin}/rtbench-subscriber-page`, '<!doctype html><title>rtbench subscribers</title>', false);
    await page.evaluate(POLL_LOOP);
    return measure("rtbench's page (clients/browser/detached-page.ts)", tag);
  }),
);
rows.push(
  await withBrowser('a page Playwright drives', async (browser, tag) => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/blank`);
    await page.evaluate(POLL_LOOP);
    return measure('driven by Playwright (newPage)', tag);
  }),
);
server.close();

const document = await measurementFolder('browser');
// No rtbench runs here: the figures are in report.md alone.
await rmdir(document.runs);
const cell = (us: number): string => (us / 1000).toFixed(2);
const report = [
  ...documentHeader('Chromium per fetch', document.started, '`npm run bench:browser` (written by bench/browser-floor.ts).'),
  `- Chromium ${version} (${chromiumPath}), launched as rtbench launches it (clients/browser/chromium.ts).`,
  '',
  `One page in its own browser context polls a local Node server (127.0.0.1) with back-to-back \`fetch\` calls (\`cache: 'no-store'\`, an answer of ${Buffer.byteLength(ANSWER)} bytes, as a one-message long poll of contract A) for ${MEASURE_MS / 1000} s after ${WARM_MS / 1000} s of warming. The server counts the polls; each Chromium process's CPU (utime + stime, /proc) is read before and after, summed by kind and divided by the polls. One browser per row. A long-polling Chromium subscriber pays at least this per poll, however the page is driven.`,
  '',
  renderTable(
    ['Page', 'Polls', 'Polls/s', 'Browser process (ms per poll)', 'Network service', 'Renderer', 'GPU process', 'Other', 'All of Chromium (ms per poll)'],
    rows.map((row) => [
      row.page,
      String(row.polls),
      (row.polls / (MEASURE_MS / 1000)).toFixed(0),
      ...KINDS.map((kind) => cell(row.perPollUs[kind])),
      cell(KINDS.reduce((sum, kind) => sum + row.perPollUs[kind], 0)),
    ]),
  ),
  '',
].join('\n');
await writeFile(join(document.folder, 'report.md'), report);
await indexMeasurements(document.root);
process.stdout.write(report);
process.stderr.write(`bench:browser: written to ${join(document.folder, 'report.md')}\n`);
