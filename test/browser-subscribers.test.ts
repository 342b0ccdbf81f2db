import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignPageClock } from '../clients/browser/page-clock.js';
import { browserCannot } from '../clients/browser/page-client.js';
import { DISABLED_FEATURES, browserProcesses, findChromium, launchChromium, launchTag, processUsage } from '../clients/browser/chromium.js';
import { spawn } from 'node:child_process';
import { DetachedPages } from '../clients/browser/detached-page.js';
import type { BrowserSubscribers } from '../core/details.js';
import type { TransportResult } from '../core/result.js';
import { TRANSPORTS } from '../core/transports.js';
import { waitingNote } from '../scenarios/browser-subscribers.js';
import { withDescendants } from '../core/process-tree.js';
import { CHROMIUM, chromiumMissing } from './support/browser.js';
import { packageRoot } from '../core/paths.js';
import { testCleanup } from './helpers.js';
import { onlyRunFolder, outRoot, runCli, runJson, startCli, waitForStderr } from './support/cli.js';

const chromium = chromiumMissing();
if (chromium) console.warn(`skipping the Chromium subscriber tests: ${chromium}`);
const outDir = outRoot();
const cleanup = testCleanup();

function browsersOf(result: TransportResult): BrowserSubscribers {
  const details = result.details;
  if (details?.scenario !== 'burst' || !details.browsers) throw new Error(`no browser subscribers in ${result.transport}'s result`);
  return details.browsers;
}

describe('what a page can subscribe to', () => {
  const read = () => ({ messages: [] });
  it('refuses a profile that needs headers or frames of its own, naming why', () => {
    expect(browserCannot({ transport: 'sse', url: () => 'u', headers: () => ({}), openEvent: null, events: ['message'], read })).toBeNull();
    expect(browserCannot({ transport: 'sse', url: () => 'u', headers: () => ({ authorization: 'x' }), openEvent: null, events: ['message'], read })).toBe('BROWSER_NEEDS_HEADERS');
    expect(browserCannot({ transport: 'ws', url: () => 'u', headers: {}, open: () => {}, read })).toBe('BROWSER_NEEDS_OPEN_FRAME');
    expect(browserCannot({ transport: 'long-polling', poll: () => ({ url: 'u', headers: {} }), probe: null, pollLimitMs: 1, sendRequest: () => ({ url: 'u', headers: {}, body: '' }), read })).toBe('BROWSER_NEEDS_SEND');
  });

  it('says in words what waited, and blames HTTP/1.1 only where it is the cause', () => {
    expect(waitingNote('sse', 6, 10, 1, 10, false)).toBe('6 of 10 SSE streams opened in one page; the rest waited: HTTP/1.1 connection limit per origin');
    expect(waitingNote('sse', 10, 10, 1, 10, false)).toBe('');
    expect(waitingNote('sse', 6, 10, 1, 10, true)).toContain('held back by the browser');
    expect(waitingNote('long-polling', 12, 20, 2, 10, false)).toBe('12 of 20 long polls opened in 2 pages of 10; the rest waited: HTTP/1.1 connection limit per origin');
  });
});

describe('aligning a page clock', () => {
  it('takes the offset from the probe with the shortest round trip, and half that trip as its uncertainty', async () => {
    // A page whose clock reads this thread's plus 5 s; the probes answer after varying waits.
    const waitsMs = [3, 1, 0, 2];
    let probe = 0;
    const { nowUs } = await import('../core/clock.js');
    const readPageMs = async (): Promise<number> => {
      const waitMs = waitsMs[probe++ % waitsMs.length] as number;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      const pageMs = (nowUs() + 5_000_000) / 1000;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      return pageMs;
    };
    const clock = await alignPageClock(readPageMs, async () => 100);
    expect(clock.resolutionUs).toBe(100);
    expect(clock.uncertaintyUs).toBeGreaterThan(0);
    // The true offset lies within the uncertainty claimed.
    expect(Math.abs(clock.offsetUs - 5_000_000)).toBeLessThanOrEqual(clock.uncertaintyUs);
  });
});

describe("a browser's CPU", () => {
  it('keeps the CPU of a process that ended and was reaped: the sum over the live tree never goes back', async () => {
    const before = processUsage([process.pid]).cpuMs;
    const ownBefore = process.cpuUsage();
    // A child that spends at least 300 ms of CPU, then ends; this process reaps it.
    const child = spawn(process.execPath, ['-e', 'const end = process.cpuUsage().user + 300000; while (process.cpuUsage().user < end);']);
    await new Promise((resolve) => child.once('exit', resolve));
    const own = process.cpuUsage(ownBefore);
    const afterMs = processUsage([process.pid]).cpuMs;
    // What this process spent itself meanwhile is taken out; clock ticks of 10 ms leave some slack.
    expect(afterMs - before - (own.user + own.system) / 1000).toBeGreaterThanOrEqual(250);
  });
});

describe('finding Chromium', () => {
  it('looks on PATH for the names it goes by, and finds none on an empty one', () => {
    expect(findChromium('')).toBeNull();
    if (!chromium) expect(findChromium('/usr/bin')).toBe(CHROMIUM);
  });

  it('refuses a Chromium that is not there, naming the option (exit 2)', async () => {
    const { code, stderr } = await runCli(['burst', '--browsers', '1', '--chromium', '/nonexistent/chromium', '--dry-run']);
    expect(code).toBe(2);
    expect(stderr).toContain("'--chromium'");
    expect(stderr).toContain('/nonexistent/chromium');
  });
});

describe.skipIf(chromium !== null)('Chromium pages as subscribers (burst --browsers)', () => {
  it('every transport has its Chromium row, with exact counts and nothing lost', async () => {
    const summary = await runJson(['burst', '--transport', 'all', '--subscribers', '2', '--browsers', '2', '--bursts', '5', '--out', outDir('all')]);
    expect(summary.transports.map((t) => t.transport)).toEqual([...TRANSPORTS]);
    let chromiumCpuMs = 0;
    for (const result of summary.transports) {
      expect(result.state, `${result.transport}: ${JSON.stringify(result.error)}`).toBe('completed');
      const browsers = browsersOf(result);
      // Two pages, 15 messages each: exactly 30 deliveries, each matched once, in order.
      expect({ transport: result.transport, opened: browsers.opened, pages: browsers.pages, ...browsers.messages }).toEqual({
        transport: result.transport,
        opened: 2,
        pages: 2,
        expected: 30,
        received: 30,
        lost: 0,
        late: 0,
        duplicated: 0,
        outOfOrder: 0,
        pending: 0,
        foreign: 0,
      });
      expect(browsers.latencyUs.count).toBe(30);
      // The build is named: a browser's figures move with it.
      expect(browsers.version).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // Node's subscribers are counted apart, as before.
      expect(result.messages.expected).toBe(30);
      expect(result.messages.lost).toBe(0);
      // CPU is read in clock ticks (10 ms): 15 messages over WebSocket may take less than one.
      expect(browsers.cpuMs).toBeGreaterThanOrEqual(0);
      chromiumCpuMs += browsers.cpuMs;
      expect(browsers.memoryBytes).toBeGreaterThan(0);
      // Only long polling has gaps between requests: measured, every poll after a page's first.
      if (result.transport === 'long-polling') {
        expect(browsers.pollGapUs?.count).toBeGreaterThanOrEqual(15);
        expect(browsers.pollGapUs?.p50).toBeGreaterThan(0);
        // Contract A gives a rule: a page asks for its first poll (before the measured round), then
        // builds the rest itself, and rtbench found each to be the poll the profile would have sent
        // (no BROWSER_POLL_MISMATCH).
        expect(browsers.polls?.asked).toBe(0);
        expect(browsers.polls?.own).toBeGreaterThanOrEqual(15);
        expect(result.errors).toEqual({});
      } else expect(browsers.pollGapUs).toBeUndefined();
    }
    // Over all four, the browser's work shows: long polling's 30 fetches alone take many ticks.
    expect(chromiumCpuMs).toBeGreaterThan(0);
    const folder = onlyRunFolder(outDir('all'));
    const summaryText = readFileSync(join(folder, 'summary.md'), 'utf8');
    expect(summaryText).toMatch(/\| SSE, Chromium +\| +2\/2 \|/);
    expect(summaryText).toContain(`Chromium ${browsersOf(summary.transports[0]!).version}.`);
    expect(summaryText).toMatch(/Long Polling: all \d+ polls were built by the page itself .* p50 \d+\.\d+ ms, p99 \d+\.\d+ ms over \d+ polls/);
    // The decision report shows the Chromium rows and the browser-minus-Node calibration per transport.
    const report = await runCli(['report', outDir('all'), '--out', outDir('all-report')]);
    expect(report.code, report.stderr).toBe(0);
    const text = readFileSync(join(outDir('all-report'), 'report.md'), 'utf8');
    expect(text).toMatch(/Calibration, browser minus Node \(ms\): WebSocket p50 [+-]\d+\.\d\d, p99 [+-]\d+\.\d\d; SSE p50 /);
    expect(text).toMatch(/\| STOMP, Chromium +\| +\d/);
  }, 180_000);

  it('Chromium gets one list of disabled features, and runs no WebUI of its own beside the pages', async () => {
    const tag = launchTag(`features-${process.pid}`, 0);
    const browser = await launchChromium(CHROMIUM, tag);
    cleanup.add(() => browser.close());
    const pages = await DetachedPages.open(browser);
    // Fulfilled by rtbench itself: nothing listens on this port.
    for (let k = 0; k < 2; k++) await pages.open('http://127.0.0.1:9/rtbench-subscriber-page', '<!doctype html><title>t</title>', false);
    const commandLines = browserProcesses(tag).map((pid) => {
      try {
        // Chromium's child processes rewrite their command line as one string, spaces between arguments.
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      } catch {
        return [];
      }
    });
    // Chromium honours the last --disable-features only: the browser's must be rtbench's whole list.
    const root = commandLines.find((args) => args.includes(tag))!;
    const lastDisabled = root.filter((arg) => arg.startsWith('--disable-features=')).at(-1);
    expect(lastDisabled?.slice('--disable-features='.length).split(',')).toEqual([...DISABLED_FEATURES]);
    // A window per browser context, and without the list a WebUI renderer per window (the omnibox popup).
    expect(commandLines.filter((args) => args.includes('--type=renderer') && !args.includes('--top-chrome-webui')).length).toBeGreaterThanOrEqual(2);
    expect(commandLines.filter((args) => args.includes('--top-chrome-webui'))).toEqual([]);
  }, 60_000);

  it("long polling: a poll a page builds by a rule that differs from the profile's poll is counted, never silent", async () => {
    const profile = join(packageRoot, 'test', 'fixtures', 'profiles', 'wrong-follow.mjs');
    const target = await cleanup.server();
    const summary = await runJson(['burst', '--profile', profile, '--target', target, '--transport', 'long-polling', '--subscribers', '1', '--browsers', '1', '--bursts', '3', '--out', outDir('wrong-follow')]);
    const browsers = browsersOf(summary.transports[0]!);
    // Nine answers, each followed by a poll the page built: every one is the wrong poll, said by code.
    expect(browsers.polls).toEqual({ own: 9, asked: 0 });
    expect(browsers.errors).toEqual({ BROWSER_POLL_MISMATCH: 9 });
    expect(readFileSync(join(onlyRunFolder(outDir('wrong-follow')), 'summary.md'), 'utf8')).toContain('the Chromium subscribers met BROWSER_POLL_MISMATCH x9');
  }, 90_000);

  it('one page of 10 SSE subscribers over HTTP/1.1: six open, four wait; over h2 all ten open and nothing is lost', async () => {
    const h1 = await runJson(['burst', '--transport', 'sse', '--subscribers', '1', '--browsers', '10', '--per-page', '10', '--bursts', '3', '--connect-timeout', '3s', '--out', outDir('h1')]);
    const waited = browsersOf(h1.transports[0]!);
    expect([waited.opened, waited.waiting]).toEqual([6, 4]);
    expect(waited.note).toBe('6 of 10 SSE streams opened in one page; the rest waited: HTTP/1.1 connection limit per origin');
    expect(waited.messages).toMatchObject({ expected: 6 * 9, received: 6 * 9, lost: 0 });

    const h2 = await runJson(['burst', '--transport', 'sse', '--http2', '--subscribers', '1', '--browsers', '10', '--per-page', '10', '--bursts', '3', '--connect-timeout', '3s', '--out', outDir('h2')]);
    const all = browsersOf(h2.transports[0]!);
    expect([all.opened, all.waiting, all.note]).toEqual([10, 0, '']);
    expect(all.messages).toMatchObject({ expected: 10 * 9, received: 10 * 9, lost: 0, duplicated: 0, outOfOrder: 0 });
  }, 180_000);

  it('a browser that dies mid-run: its deliveries count as lost, the Node ones do not, and the run ends', async () => {
    mkdirSync(outDir('crash'), { recursive: true });
    const run = startCli(['burst', '--transport', 'ws', '--subscribers', '2', '--browsers', '2', '--bursts', '40', '--deadline', '1s', '--out', outDir('crash')]);
    await waitForStderr(run, /publishing 40 bursts/, 60_000);
    // Every process of the run's Chromium: descendants of the CLI (its worker thread started them) named chromium.
    const browserPids = withDescendants(run.child.pid!).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('chrom');
      } catch {
        return false;
      }
    });
    expect(browserPids.length).toBeGreaterThan(0);
    for (const pid of browserPids) process.kill(pid, 'SIGKILL');
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(0);
    const folder = onlyRunFolder(outDir('crash'));
    expect(readdirSync(folder)).toContain('summary.json');
    const result = (JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as { transports: TransportResult[] }).transports[0]!;
    const browsers = browsersOf(result);
    expect(browsers.crashedPages).toBe(2);
    expect(browsers.messages.expected).toBe(2 * 120);
    expect(browsers.messages.lost).toBeGreaterThan(0);
    expect(browsers.messages.received + browsers.messages.lost).toBe(browsers.messages.expected);
    expect(result.messages).toMatchObject({ expected: 2 * 120, received: 2 * 120, lost: 0 });
  }, 180_000);

  it("faults: the browser's EventSource reconnects by itself and resumes with Last-Event-ID, counted apart from Node's", async () => {
    const summary = await runJson(['faults', '--transport', 'sse', '--connections', '2', '--browsers', '2', '--window', '3s', '--outage', '1s', '--modes', 'off', '--out', outDir('faults')]);
    const result = summary.transports[0]!;
    const rows = result.details?.scenario === 'faults' ? result.details.faults : [];
    expect(rows.map((row) => row.fault)).toContain('cut');
    for (const row of rows) expect(row.browsers, row.fault).toBeDefined();
    const cut = rows.find((row) => row.fault === 'cut')!;
    // Both pages' streams were cut once and came back on their own, with nothing lost.
    expect(cut.browsers).toMatchObject({ disconnects: 2, reconnects: 2 });
    expect(cut.browsers!.recoveryMs).not.toBeNull();
    expect(cut.browsers!.messages).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(cut.browsers!.messages.received).toBe(cut.browsers!.messages.expected);
    // The Node subscribers' counters are their own.
    expect(cut.disconnects).toBe(2);
    const text = readFileSync(join(onlyRunFolder(outDir('faults')), 'summary.md'), 'utf8');
    expect(text).toMatch(/\| SSE, Chromium +\| +off \| +cut \|/);
    expect(text).toContain('EventSource reconnects by itself');
  }, 180_000);

  it('ramp and soak hold Chromium subscribers beside the Node ones, each step and the whole soak counted exactly', async () => {
    const ramp = (await runJson(['ramp', '--transport', 'ws', '--steps', '4,8', '--hold', '0s', '--messages', '3', '--browsers', '2', '--out', outDir('ramp')])).transports[0]!;
    const steps = ramp.details?.scenario === 'ramp' ? ramp.details.steps : [];
    expect(steps.map((step) => [step.connectionsHeld, step.browsers?.held, step.browsers?.messages.expected, step.browsers?.messages.received, step.browsers?.messages.lost])).toEqual([
      [4, 2, 6, 6, 0],
      [8, 2, 6, 6, 0],
    ]);
    // The Node figures stay the Node subscribers' own.
    expect(steps.map((step) => step.messages.expected)).toEqual([4 * 3, 8 * 3]);
    expect(steps.map((step) => step.browsers?.version)).toEqual([expect.stringMatching(/^\d+\./), expect.stringMatching(/^\d+\./)]);

    const soak = (await runJson(['soak', '--transport', 'sse', '--connections', '2', '--duration', '4s', '--interval', '2s', '--browsers', '2', '--out', outDir('soak')])).transports[0]!;
    const browsers = soak.details?.scenario === 'soak' ? soak.details.browsers : undefined;
    expect(browsers).toMatchObject({ held: 2, messages: { expected: 4, received: 4, lost: 0, duplicated: 0 } });
    expect(browsers!.memoryFirstBytes).toBeGreaterThan(0);
    expect(browsers!.version).toMatch(/^\d+\./);
    expect(soak.messages).toMatchObject({ expected: 4, received: 4, lost: 0 });
    expect(readFileSync(join(onlyRunFolder(outDir('soak')), 'summary.md'), 'utf8')).toMatch(/\| SSE, Chromium +\| +whole soak \|/);
  }, 180_000);
});
