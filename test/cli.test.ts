import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startChild } from '../run/child.js';
import { packageRoot } from '../core/paths.js';
import { programPath } from '../core/entry-points.js';
import type { RunSummary } from '../core/result.js';
import { seededCuts } from './support/faults.js';
import { TRANSPORTS } from '../core/transports.js';
import { getJson } from './helpers.js';
import { isAlive, onlyRunFolder, outRoot, runCli, startCli, waitForStderr } from './support/cli.js';
import { detailsOf } from '../core/details.js';

const outDir = outRoot();

describe('command line', () => {
  it('lists every option with its default', async () => {
    const { code, stdout } = await runCli(['burst', '--help']);
    expect(code).toBe(0);
    // Whitespace-insensitive: commander wraps long descriptions.
    const help = stdout.replace(/\s+/g, ' ');
    for (const [flag, shown] of [
      ['--subscribers <count>', '(default: 10)'], ['--bursts <count>', '(default: 200)'], ['--burst-size <count>', '(default: 3)'],
      ['--gap <duration>', '(default: 50ms)'], ['--pause <duration>', '(default: 100ms)'], ['--deadline <duration>', '(default: 10s)'],
      ['--delay <duration>', '(default: 0ms)'], ['--seed <n>', '(default: 1)'],
    ]) {
      // The flag's own line carries its own default, not a longer number that starts the same way.
      expect(help, flag).toMatch(new RegExp(`${flag!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} [^(]*${shown!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    for (const text of ['--transport', '--target', '--header', '--jitter', '--delay-mode', '--no-resume', '--out', '--json', 'Exit status']) expect(help).toContain(text);
    // True with --target as well as on the built-in servers.
    expect(help).toContain('each on a fresh built-in server, or on --target');
    expect((await runCli(['--help'])).stdout).toContain('burst');
  });

  it.each([
    [['burst', '--subscribers', 'abc'], ['--subscribers', 'abc', 'expected an integer from 1 to']],
    [['burst', '--transport', 'carrier-pigeon'], ['--transport', 'carrier-pigeon', 'ws', 'sse', 'long-polling', 'all']],
    [['burst', '--delay', 'soon'], ['--delay', 'soon', 'expected a duration']],
    [['burst', '--delay', '10', '--jitter', '20'], ['--jitter', '20ms', '--delay']],
    [['burst', '--target', 'ftp://example'], ['--target', 'ftp://example', 'http']],
    [['burst', '--target', 'https://127.0.0.1:9', '--delay', '20'], ['--delay', '20', 'https', 'certificate']],
    [['burst', '--no-such-option'], ['--no-such-option']],
    [['throughput', '--rates', '10,5'], ['--rates', '10,5', 'never decreasing']],
    [['soak', '--duration', '90s', '--interval', '10m'], ['--duration', '90s', 'at least --interval (10m)']],
    [['no-such-command'], ['no-such-command']],
  ])('rejects %j with exit 2, naming the option, the value and what is accepted', async (args, mentions) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    for (const text of mentions) expect(stderr).toContain(text);
  });

  it('reports an unreachable --target as an error, fast, without hanging', async () => {
    const started = Date.now();
    const { code, stderr } = await runCli(['burst', '--target', 'http://127.0.0.1:9', '--connect-timeout', '2s', '--out', outDir('unreachable')]);
    expect(code).toBe(1);
    expect(stderr).toContain('--target http://127.0.0.1:9 is unreachable');
    // The cause is named, not hidden behind "fetch failed".
    expect(stderr).toMatch(/health check failed with ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('rtbench ramp end to end', () => {
  it('ramps 10 -> 50 -> 100 over 2 workers for every transport, holding exactly the asked counts', async () => {
    const dir = outDir('ramp');
    const { code, stdout, stderr } = await runCli([
      'ramp', '--transport', 'all', '--steps', '10,50,100', '--workers', '2', '--hold', '0', '--messages', '3', '--rate', '20', '--rooms', '2', '--json', '--out', dir,
    ]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.scenario).toBe('ramp');
    for (const result of summary.transports) {
      const steps = detailsOf(result, 'ramp')!.steps;
      expect(steps.map((s) => s.connectionsHeld), result.transport).toEqual([10, 50, 100]);
      expect(steps.map((s) => s.connect.attempted)).toEqual([10, 40, 50]);
      expect(steps.map((s) => s.connect.ok)).toEqual([10, 40, 50]);
      // 3 messages to each of 2 rooms; each subscriber expects its own room's 3.
      expect(steps.map((s) => s.messages.expected)).toEqual([30, 150, 300]);
      expect(steps.every((s) => s.messages.lost === 0 && s.passed)).toBe(true);
      expect(detailsOf(result, 'ramp')?.verdict).toBe('every step passed');
      expect(result.messages).toMatchObject({ expected: 480, received: 480, lost: 0 });
    }
    const markdown = readFileSync(join(onlyRunFolder(dir), 'summary.md'), 'utf8');
    expect(markdown).toContain('Ramp, WebSocket: every step passed');
    expect(markdown).toContain('Ramp, STOMP: every step passed');
    // The terminal's tables (stderr with --json) fit in 120 columns; summary.md keeps them whole.
    const width = (text: string): number => Math.max(...text.split('\n').filter((line) => line.startsWith('|')).map((line) => [...line].length));
    expect(width(stderr)).toBeLessThanOrEqual(120);
    expect(width(markdown)).toBeGreaterThan(120);
  }, 120_000);

  it('refuses, before starting anything, a step the open-file limit cannot hold', async () => {
    // The limit is set for this run, so the check is the same on every machine.
    const { code, stderr } = await runCli(['ramp', '--transport', 'ws', '--steps', '100,5000', '--out', outDir('refused')], { shellPrefix: 'ulimit -n 2048;' });
    expect(code).toBe(1);
    expect(stderr).toContain('this machine cannot run 5000 connections');
    expect(stderr).toContain('generator needs about 5240 file descriptors; ulimit -n is 2048');
    expect(stderr).not.toContain('built-in server on');
  });
});

describe('rtbench soak end to end', () => {
  // Messages go out about 0.2 s into each 2 s interval; the link is down from 3.5 s to 5 s, which
  // holds exactly one message (the one at ~4.2 s), and reconnects (capped at 200 ms) finish long
  // before the next one at ~6.2 s. So each subscriber misses exactly one message without resume.
  const faultArgs = ['--connections', '20', '--duration', '12s', '--interval', '2s', '--cut-at', '3.5s', '--outage', '1.5s', '--reconnect-max', '200ms'];

  it.each([
    ['on', [], 0],
    ['off', ['--no-resume'], 20],
  ])('loses exactly what the outage held with resume %s, on every transport', async (_mode, extra, lost) => {
    const dir = outDir(`soak-${_mode}`);
    const { code, stdout, stderr } = await runCli(['soak', '--transport', 'all', ...faultArgs, ...(extra as string[]), '--json', '--out', dir]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    for (const result of summary.transports) {
      const details = detailsOf(result, 'soak')!;
      expect(result.messages, result.transport).toMatchObject({ expected: 120, lost, duplicated: 0 });
      expect(details.totals.disconnects, result.transport).toBe(20);
      expect(details.intervals).toHaveLength(6);
      expect(details.intervals.flatMap((i) => i.faults)).toEqual(['cut + 1500ms outage']);
    }
    const csv = readFileSync(join(onlyRunFolder(dir), 'intervals.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + TRANSPORTS.length * 6);
  }, 150_000);

  it('on SIGINT keeps the intervals measured so far, says it was interrupted, and leaves no process', async () => {
    const dir = outDir('soak-interrupt');
    const run = startCli(['soak', '--transport', 'ws', '--connections', '10', '--duration', '2m', '--interval', '1s', '--out', dir]);
    await waitForStderr(run, /ws: 0:0\d \/ 2:00/);
    const serverPid = Number(/pid (\d+)/.exec(run.stderrSoFar())?.[1]);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(isAlive(serverPid)).toBe(false);
    const folder = onlyRunFolder(dir);
    const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.state).toBe('aborted');
    const details = detailsOf(summary.transports[0]!, 'soak')!;
    expect(details.interrupted).toBe(true);
    expect(details.intervals.length).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(folder, 'intervals.csv'), 'utf8')).toContain('transport,interval,elapsedS');
  });
});

describe('rtbench when things go wrong', () => {
  it('a soak killed outright (SIGKILL) keeps its checkpoint, and its server exits by itself', async () => {
    const dir = outDir('soak-killed');
    const run = startCli(['soak', '--transport', 'sse', '--connections', '5', '--duration', '2m', '--interval', '1s', '--out', dir]);
    await waitForStderr(run, /sse: 0:0\d \/ 2:00/);
    const serverPid = Number(/pid (\d+)/.exec(run.stderrSoFar())?.[1]);
    run.child.kill('SIGKILL');
    await run.done;
    const summary = JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.checkpoint).toBe(true);
    expect(summary.state).toBe('aborted');
    expect(detailsOf(summary.transports[0]!, 'soak')!.intervals.length).toBeGreaterThanOrEqual(1);
    // The server watches its standard input: when rtbench dies, it follows (bounded wait, no fixed sleep).
    for (let i = 0; i < 100 && isAlive(serverPid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAlive(serverPid)).toBe(false);
  });

  it('reports a server that dies mid-run as a failed transport, with what was measured, instead of hanging', async () => {
    const dir = outDir('server-died');
    const run = startCli(['soak', '--transport', 'ws', '--connections', '5', '--duration', '2m', '--interval', '1s', '--out', dir]);
    // The first interval line means one message has been measured; then the server dies.
    await waitForStderr(run, /ws: 0:0\d \/ 2:00/);
    process.kill(Number(/pid (\d+)/.exec(run.stderrSoFar())?.[1]), 'SIGKILL');
    const { code, stderr } = await run.done;
    expect(code).toBe(1);
    expect(stderr).toContain('the server process exited');
    const summary = JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.state).toBe('failed');
    expect(summary.checkpoint).toBeUndefined();
    expect(summary.transports[0]?.error?.message).toContain('the server process exited (SIGKILL)');
    expect(summary.transports[0]?.messages.received).toBeGreaterThanOrEqual(5);
  });
});

describe('rtbench faults end to end', () => {
  const connections = 5;
  const outageMs = 1000;
  const short = ['--connections', String(connections), '--window', '3s', '--outage', `${outageMs}ms`, '--deadline', '2500ms', '--seed', '1'];

  it('with resume loses nothing across a cut, an outage, a stall and random loss; across a restart only what the server refused', async () => {
    const { code, stdout, stderr } = await runCli(['faults', '--transport', 'all', '--modes', 'on', ...short, '--json', '--out', outDir('faults-on')]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    for (const result of summary.transports) {
      const rows = detailsOf(result, 'faults')!.faults;
      expect(rows.map((r) => r.fault), result.transport).toEqual(['cut', 'outage', 'stall', 'random-loss', 'restart']);
      for (const row of rows) {
        expect(row.messages.duplicated, `${result.transport} ${row.fault}`).toBe(0);
        // A publish the restarting server refused reaches nobody; everything it accepted arrives.
        expect(row.messages.lost, `${result.transport} ${row.fault}`).toBe(row.publishErrors * 5);
      }
      const byFault = Object.fromEntries(rows.map((r) => [r.fault, r]));
      const name = result.transport;
      expect(byFault.cut?.disconnects, name).toBe(connections);
      expect(byFault.cut?.recoveryMs, name).not.toBeNull();
      // An outage keeps every subscriber away for at least its length.
      expect(byFault.outage?.disconnects, name).toBe(connections);
      expect(byFault.outage?.recoveryMs, name).toBeGreaterThanOrEqual(outageMs);
      // A stall drops nothing and disconnects nobody, but the messages it held show it in latency.
      expect(byFault.stall?.disconnects, name).toBe(0);
      expect(byFault.stall?.recoveryMs, name).toBeNull();
      // The first message published inside the stall waits for most of it (it can start up to one
      // 250 ms interval after the stall did); none waits much longer than the stall itself.
      expect(byFault.stall?.latencyUs.max, name).toBeGreaterThanOrEqual((outageMs - 250) * 1000);
      expect(byFault.stall?.latencyUs.max, name).toBeLessThan((outageMs + 250) * 1000);
      // Random loss cuts exactly what the seed decides (one connection here): two draws (a 2 s window) over five connections.
      expect(seededCuts(1, 0.2, connections, 2)).toBeGreaterThan(0);
      expect(byFault['random-loss']?.disconnects, name).toBe(seededCuts(1, 0.2, connections, 2));
      // The restarted server does not know the clients' cursors: each subscriber is told so.
      expect(byFault.restart?.gaps, name).toBe(connections);
      expect(byFault.restart?.disconnects, name).toBe(connections);
      // samples.csv: every message sent is in some second, and no second reads negative when the
      // next mode's pool starts counting from zero (once every second read 0 sent).
      const published = rows.reduce((n, r) => n + r.messages.expected / connections, 0);
      expect([...result.samples].reduce((n, s) => n + s.messagesSent, 0), name).toBe(published);
      expect(Math.min(...[...result.samples].map((s) => s.messagesReceived)), name).toBeGreaterThanOrEqual(0);
    }
  }, 150_000);

  it("without a cursor, long polling loses what was published during an outage (as the original study's clients did)", async () => {
    const { code, stdout, stderr } = await runCli(['faults', '--transport', 'long-polling', '--modes', 'off', ...short, '--json', '--out', outDir('faults-off')]);
    expect(code, stderr).toBe(0);
    const rows = detailsOf((JSON.parse(stdout) as RunSummary).transports[0]!, 'faults')!.faults;
    const outage = rows.find((r) => r.fault === 'outage');
    // One message every 250 ms during a 1 s outage: about four, times five subscribers; never more
    // than the messages of the 2.5 s from the outage to the reconnect (10 a subscriber).
    expect(outage?.messages.lost).toBeGreaterThanOrEqual(10);
    expect(outage?.messages.lost).toBeLessThanOrEqual(10 * connections);
    expect(rows.every((r) => r.resume === false)).toBe(true);
  }, 90_000);
});

describe('rtbench burst end to end', () => {
  it('writes summary.json, samples.csv and summary.md for a run through the delay proxy', async () => {
    const dir = outDir('delay');
    const { code, stdout, stderr } = await runCli(['burst', '--transport', 'all', '--subscribers', '3', '--bursts', '5', '--delay', '20', '--json', '--out', dir]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.schema).toBe('rtbench.summary');
    expect(summary.state).toBe('completed');
    expect(summary.transports.map((t) => t.transport)).toEqual([...TRANSPORTS]);
    for (const result of summary.transports) {
      expect(result.state).toBe('completed');
      expect(result.messages).toMatchObject({ expected: 45, received: 45, lost: 0, duplicated: 0 });
      expect(result.subscriberBursts).toEqual({ ok: 15, failed: 0, pending: 0 });
      // Publish path and push path both cross the 20 ms link.
      expect(result.latencyUs.perMessage.min).toBeGreaterThanOrEqual(40_000);
      expect(result.latencyUs.publishRtt.min).toBeGreaterThanOrEqual(40_000);
      expect(result.config).toMatchObject({ delay: 20, subscribers: 3, bursts: 5, transport: result.transport });
      expect(result.environment.cores).toBeGreaterThan(0);
      expect(result.histograms.perMessage).toMatch(/^HIST/);
      expect(result.serverUsage?.rssBytesMax).toBeGreaterThan(0);
      expect(result.proxyUsage).not.toBeNull();
    }
    const folder = onlyRunFolder(dir);
    expect(folder).toMatch(/-burst$/);
    expect(JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'))).toEqual(summary);
    const csv = readFileSync(join(folder, 'samples.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^transport,elapsedS,measuring,step,connections,messagesSent,messagesReceived,serverCpuPct/);
    expect(csv.length).toBeGreaterThan(3);
    const markdown = readFileSync(join(folder, 'summary.md'), 'utf8');
    expect(markdown).toContain('| Method');
    expect(markdown).toContain('| WebSocket');
    expect(markdown).toContain('| Long Polling');
  });

  it.each([
    ['the reference server in its own process', programPath('referenceServer'), ['--port', '0', '--exit-on-stdin-end']],
    ['an independent plain node:http implementation', join(packageRoot, 'test', 'fixtures', 'plain-contract-a-server.mjs'), []],
  ])('runs against a --target server (%s), sending --header on every request', async (_name, entry, args) => {
    const target = await startChild('target', entry, args);
    try {
      const dir = outDir(`target-${target.pid}`);
      const { code, stdout, stderr } = await runCli([
        'burst', '--target', target.url, '--transport', 'all', '--subscribers', '2', '--bursts', '3', '--header', 'Authorization: Bearer tester', '--json', '--out', dir,
      ]);
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      for (const result of summary.transports) {
        expect(result.server).toBe(target.url);
        expect(result.serverUsage).toBeNull();
        expect(result.messages).toMatchObject({ expected: 18, received: 18, lost: 0 });
        const history = await getJson(`${target.url}/messages?chatRoomId=rtb-${summary.runId}-${result.transport}-r0&since=0&limit=100`);
        expect(history.body.length).toBeGreaterThanOrEqual(9);
        expect(new Set(history.body.map((m: { userId: string }) => m.userId))).toEqual(new Set(['tester']));
      }
    } finally {
      await target.stop();
    }
  });

  it('on Ctrl-C stops, writes what it measured, exits 130 and leaves no server behind', async () => {
    const dir = outDir('interrupt');
    const run = startCli(['burst', '--transport', 'ws', '--bursts', '2000', '--out', dir]);
    // Wait for the phase line that says publishing has started, then interrupt.
    await waitForStderr(run, /publishing/);
    const serverPid = Number(/pid (\d+)/.exec(run.stderrSoFar())?.[1]);
    expect(isAlive(serverPid)).toBe(true);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(isAlive(serverPid)).toBe(false);
    const summary = JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.state).toBe('aborted');
    expect(summary.transports[0]?.state).toBe('aborted');
    expect(summary.transports[0]?.messages.expected).toBeLessThan(6000 * 10);
    expect(summary.transports[0]?.messages.lost).toBe(0);
  });
});
