import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startChild } from '../bench/child.js';
import { distEntry, packageRoot } from '../bench/paths.js';
import type { RunSummary } from '../bench/result.js';
import { getJson } from './helpers.js';

const CLI = distEntry('cli.js');
const outRoot = mkdtempSync(join(tmpdir(), 'rtbench-test-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

interface CliRun {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

function startCli(args: readonly string[]): { child: ChildProcess; done: Promise<CliRun>; stderrSoFar: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stderrSoFar: () => stderr };
}

const runCli = (args: readonly string[]): Promise<CliRun> => startCli(args).done;

/** Resolves when the run's stderr matches `pattern` (bounded: rejects after 30 s with what it printed). */
function waitForStderr(run: ReturnType<typeof startCli>, pattern: RegExp): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}: ${run.stderrSoFar()}`)), 30_000);
    const check = (): void => {
      if (pattern.test(run.stderrSoFar())) {
        clearTimeout(timer);
        run.child.stderr!.off('data', check);
        resolve();
      }
    };
    run.child.stderr!.on('data', check);
    check();
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function outDir(name: string): string {
  return join(outRoot, name);
}

function onlyRunFolder(dir: string): string {
  const folders = readdirSync(dir);
  expect(folders).toHaveLength(1);
  return join(dir, folders[0]!);
}

describe('command line', () => {
  it('lists every option with its default', async () => {
    const { code, stdout } = await runCli(['burst', '--help']);
    expect(code).toBe(0);
    for (const text of ['--subscribers', 'default: 10', '--bursts', 'default: 200', '--burst-size', 'default: 3', '--gap', 'default: 50ms', '--pause', '--transport', '--target', '--header', '--delay', '--jitter', '--delay-mode', '--no-resume', '--deadline', 'default: 10s', '--out', '--json', 'Exit status']) {
      expect(stdout).toContain(text);
    }
    expect((await runCli(['--help'])).stdout).toContain('burst');
  });

  it.each([
    [['burst', '--subscribers', 'abc'], ['--subscribers', 'abc', 'expected an integer from 1 to']],
    [['burst', '--transport', 'carrier-pigeon'], ['--transport', 'carrier-pigeon', 'ws', 'sse', 'long-polling', 'all']],
    [['burst', '--delay', 'soon'], ['--delay', 'soon', 'expected a duration']],
    [['burst', '--delay', '10', '--jitter', '20'], ['--jitter', '20ms', '--delay']],
    [['burst', '--target', 'ftp://example'], ['--target', 'ftp://example', 'http']],
    [['burst', '--no-such-option'], ['--no-such-option']],
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
      const steps = result.details?.steps as Array<{ target: number; connectionsHeld: number; connect: { ok: number; attempted: number }; messages: { expected: number; lost: number }; passed: boolean }>;
      expect(steps.map((s) => s.connectionsHeld), result.transport).toEqual([10, 50, 100]);
      expect(steps.map((s) => s.connect.attempted)).toEqual([10, 40, 50]);
      expect(steps.map((s) => s.connect.ok)).toEqual([10, 40, 50]);
      // 3 messages to each of 2 rooms; each subscriber expects its own room's 3.
      expect(steps.map((s) => s.messages.expected)).toEqual([30, 150, 300]);
      expect(steps.every((s) => s.messages.lost === 0 && s.passed)).toBe(true);
      expect(result.details?.verdict).toBe('every step passed');
      expect(result.messages).toMatchObject({ expected: 480, received: 480, lost: 0 });
    }
    const markdown = readFileSync(join(onlyRunFolder(dir), 'summary.md'), 'utf8');
    expect(markdown).toContain('Ramp, WebSocket: every step passed');
  });

  it('refuses, before starting anything, a step the open-file limit cannot hold', async () => {
    const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
    if (!Number.isFinite(limit) || limit > 90_000) return; // unlimited or huge: nothing to refuse here
    const { code, stderr } = await runCli(['ramp', '--transport', 'ws', '--steps', `100,${limit + 1000}`, '--out', outDir('refused')]);
    expect(code).toBe(1);
    expect(stderr).toContain(`this machine cannot run ${limit + 1000} connections`);
    expect(stderr).toContain(`ulimit -n is ${limit}`);
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
      const details = result.details as { intervals: Array<{ faults: string[]; messages: { lost: number } }>; totals: { disconnects: number } };
      expect(result.messages, result.transport).toMatchObject({ expected: 120, lost, duplicated: 0 });
      expect(details.totals.disconnects, result.transport).toBe(20);
      expect(details.intervals).toHaveLength(6);
      expect(details.intervals.flatMap((i) => i.faults)).toEqual(['cut + 1500ms outage']);
    }
    const csv = readFileSync(join(onlyRunFolder(dir), 'intervals.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 3 * 6);
  });

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
    const details = summary.transports[0]?.details as { interrupted: boolean; intervals: unknown[] };
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
    expect((summary.transports[0]?.details as { intervals: unknown[] }).intervals.length).toBeGreaterThanOrEqual(1);
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
  interface Row { resume: boolean; fault: string; recoveryMs: number | null; disconnects: number; gaps: number; publishErrors: number; messages: { expected: number; lost: number; duplicated: number } }
  const short = ['--connections', '5', '--window', '3s', '--outage', '1s', '--deadline', '2500ms'];

  it('with resume loses nothing across a cut, an outage, a stall and random loss; across a restart only what the server refused', async () => {
    const { code, stdout, stderr } = await runCli(['faults', '--transport', 'all', '--modes', 'on', ...short, '--json', '--out', outDir('faults-on')]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    for (const result of summary.transports) {
      const rows = (result.details as { faults: Row[] }).faults;
      expect(rows.map((r) => r.fault), result.transport).toEqual(['cut', 'outage', 'stall', 'random-loss', 'restart']);
      for (const row of rows) {
        expect(row.messages.duplicated, `${result.transport} ${row.fault}`).toBe(0);
        // A publish the restarting server refused reaches nobody; everything it accepted arrives.
        expect(row.messages.lost, `${result.transport} ${row.fault}`).toBe(row.publishErrors * 5);
      }
      const byFault = Object.fromEntries(rows.map((r) => [r.fault, r]));
      expect(byFault.cut?.disconnects).toBe(5);
      expect(byFault.cut?.recoveryMs).not.toBeNull();
      expect(byFault.stall?.disconnects).toBe(0);
      expect(byFault.stall?.recoveryMs).toBeNull();
      // The restarted server does not know the clients' cursors: each subscriber is told so.
      expect(byFault.restart?.gaps).toBe(5);
    }
  });

  it('without a cursor, long polling loses what was published during an outage (the seed behaviour)', async () => {
    const { code, stdout, stderr } = await runCli(['faults', '--transport', 'long-polling', '--modes', 'off', ...short, '--json', '--out', outDir('faults-off')]);
    expect(code, stderr).toBe(0);
    const rows = ((JSON.parse(stdout) as RunSummary).transports[0]?.details as { faults: Row[] }).faults;
    const outage = rows.find((r) => r.fault === 'outage');
    // One message every 250 ms during a 1 s outage: about four, times five subscribers.
    expect(outage?.messages.lost).toBeGreaterThanOrEqual(10);
    expect(rows.every((r) => r.resume === false)).toBe(true);
  });
});

describe('rtbench burst end to end', () => {
  it('measures all three transports through a 20 ms link: every latency exceeds twice the delay, nothing lost', async () => {
    const dir = outDir('delay');
    const { code, stdout, stderr } = await runCli(['burst', '--transport', 'all', '--subscribers', '3', '--bursts', '5', '--delay', '20', '--json', '--out', dir]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.schema).toBe('rtbench.summary');
    expect(summary.state).toBe('completed');
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling']);
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
    ['the reference server in its own process', distEntry('servers/main.js'), ['--port', '0', '--exit-on-stdin-end']],
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
        const history = await getJson(`${target.url}/messages?chatRoomId=rtb-${summary.runId}-${result.transport}&since=0&limit=100`);
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
