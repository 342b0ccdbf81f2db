import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loopDelayUs } from '../core/loop-delay.js';
import { RetentionProbe } from './retention-probe.js';
import { ResourceSampler, cpuPercent, summarizeRows, usageOfRows } from '../run/sampler.js';
import { withDescendants } from '../core/process-tree.js';
import { testCleanup, waitFor } from './helpers.js';
import { loadChild } from './support/load-children.js';
import { type SampleRow } from '../core/result.js';

const cleanup = testCleanup();

function row(overrides: Partial<SampleRow>): SampleRow {
  return {
    elapsedS: 1, measuring: true, step: null, connections: 0, messagesSent: 0, messagesReceived: 0,
    serverCpuPct: null, serverRssBytes: null, generatorCpuPct: null, generatorRssBytes: null, proxyCpuPct: null, proxyRssBytes: null,
    eventLoopDelayP99Us: 0,
    ...overrides,
  };
}

describe('sampler arithmetic', () => {
  it('turns CPU time over wall time into percent of one core', () => {
    expect(cpuPercent({ cpuMs: 100, atMs: 1000 }, { cpuMs: 600, atMs: 2000 })).toBe(50);
    expect(cpuPercent({ cpuMs: 0, atMs: 0 }, { cpuMs: 2000, atMs: 1000 })).toBe(200);
    expect(cpuPercent({ cpuMs: 5, atMs: 1000 }, { cpuMs: 5, atMs: 1500 })).toBe(0);
    expect(cpuPercent({ cpuMs: 5, atMs: 1000 }, { cpuMs: 9, atMs: 1000 })).toBeNull();
    expect(cpuPercent({ cpuMs: 5, atMs: 1000 }, { cpuMs: 9, atMs: 999 })).toBeNull();
  });

  it('subtracts the monitor resolution from event-loop delay readings, never going below zero', () => {
    expect(loopDelayUs(10_000_000, 10)).toBe(0);
    expect(loopDelayUs(35_400_000, 10)).toBe(25_400);
    expect(loopDelayUs(5_000_000, 10)).toBe(0);
    expect(loopDelayUs(12_345_600, 10)).toBe(2346);
    expect(loopDelayUs(22_000_000)).toBe(2000);
  });

  it('averages CPU, takes the CPU and RSS maxima, and skips seconds a process was not sampled', () => {
    const rows = [
      row({ serverCpuPct: 10, serverRssBytes: 100, generatorCpuPct: 40 }),
      row({ serverCpuPct: 20.5, serverRssBytes: 300 }),
      row({ serverCpuPct: null, serverRssBytes: 200, generatorCpuPct: 60 }),
      row({ serverCpuPct: 30, serverRssBytes: null }),
    ];
    expect(usageOfRows(rows, 'server')).toEqual({ cpuPctAvg: 20.2, cpuPctMax: 30, rssBytesMax: 300 });
    expect(usageOfRows(rows, 'generator')).toEqual({ cpuPctAvg: 50, cpuPctMax: 60, rssBytesMax: null });
    expect(usageOfRows(rows, 'proxy')).toEqual({ cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null });
    expect(usageOfRows([], 'server')).toEqual({ cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null });
  });

  it('summarizes every role, the worst loop delay and the worst CPU wait of seconds with arrivals, in one pass that keeps no row', () => {
    const rows = [
      row({ serverCpuPct: 10, generatorCpuPct: 40, eventLoopDelayP99Us: 300, messagesReceived: 0, generatorCpuWaitUs: 90_000 }),
      row({ serverCpuPct: 30, proxyCpuPct: 5, eventLoopDelayP99Us: 900, messagesReceived: 10, generatorCpuWaitUs: 4000 }),
      row({ serverCpuPct: 20, eventLoopDelayP99Us: null, messagesReceived: 10, generatorCpuWaitUs: null }),
    ];
    const summary = summarizeRows(rows);
    expect(summary.count).toBe(3);
    for (const role of ['server', 'generator', 'proxy'] as const) expect(summary.usage[role].result()).toEqual(usageOfRows(rows, role));
    expect(summary.eventLoopDelayP99UsMax).toBe(900);
    expect(summary.cpuWaitUsMax).toBe(4000); // the 90 ms wait delayed no arrival
    expect(summarizeRows([]).cpuWaitUsMax).toBeNull();
    const probe = new RetentionProbe(60_000);
    expect(summarizeRows(probe).count).toBe(60_000);
    expect(probe.growthBytes[0]).toBeLessThan(2 * 1_048_576);
  });
});

describe('withDescendants', () => {
  it.skipIf(process.platform !== 'linux')("follows a process to its children (nginx's master to its workers), and a gone one to itself", async () => {
    // A parent that starts one child, says its pid, and takes it along when its own input closes.
    const code = "const c = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }); console.log(c.pid); setTimeout(() => { c.kill(); process.exit(0); }, 60000); process.stdin.on('end', () => { c.kill(); process.exit(0); }).resume();";
    const parent = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanup.add(async () => {
      parent.stdin!.end();
      if (parent.exitCode === null && parent.signalCode === null) await once(parent, 'exit');
    });
    const [line] = (await once(createInterface({ input: parent.stdout! }), 'line')) as [string];
    const childPid = Number(line);
    expect(childPid).toBeGreaterThan(0);
    expect(withDescendants(parent.pid!)).toEqual([parent.pid, childPid]);
    expect(withDescendants(childPid)).toEqual([childPid]);
    parent.stdin!.end();
    await once(parent, 'exit');
    await waitFor(() => withDescendants(parent.pid!).length === 1, 'the parent to be gone');
    expect(withDescendants(parent.pid!)).toEqual([parent.pid]);
  });
});

describe('ResourceSampler', () => {
  it('reads a spinning process as about one core and an idle one as about none', async () => {
    const busy = await loadChild('busy', cleanup);
    const idle = await loadChild('idle', cleanup);
    let measuring = false;
    const sampler = new ResourceSampler({ server: busy, proxy: idle, generator: process.pid }, () => ({ connections: 3, sent: 0, received: 0, measuring }), 500);
    await sampler.start();
    cleanup.add(() => sampler.stop());
    measuring = true;
    // Four readings of half a second each (taken by the sampler's own timer).
    await waitFor(() => [...sampler.rows].filter((r) => r.measuring).length >= 4, 'four measured samples');
    await sampler.stop();
    const server = sampler.usageOf('server')!;
    const proxy = sampler.usageOf('proxy')!;
    // One spinning thread is 100% of one core; other tests may share the two cores, hence the width.
    expect(server.cpuPctAvg).toBeGreaterThan(50);
    expect(server.cpuPctAvg).toBeLessThan(115);
    expect(proxy.cpuPctAvg).toBeLessThan(15);
    expect(server.rssBytesMax).toBeGreaterThan(10 * 1024 * 1024);
    expect(sampler.rows.last()?.connections).toBe(3);
    // Seconds before measuring began are not judged once measured ones exist.
    expect(sampler.usageOf('generator')).not.toBeNull();
    expect(sampler.eventLoopDelayP99UsMax()).toEqual(expect.any(Number));
  });

  it('reads its own process from its own counters, tags each row, and takes deltas of the live counters', async () => {
    let counters = { connections: 5, sent: 0, received: 0, measuring: false, step: 3 as number | null };
    const sampler = new ResourceSampler({ generator: process.pid }, () => counters, 500);
    const startedMs = performance.now();
    await sampler.start();
    cleanup.add(() => sampler.stop());
    counters = { ...counters, sent: 10, received: 100, measuring: true };
    // Busy for 400 ms in this very thread: the generator's CPU over the next reading.
    const busyUntil = performance.now() + 400;
    while (performance.now() < busyUntil) {
      // spin
    }
    const first = await sampler.sampleNow();
    const again = await sampler.sampleNow();
    expect(again).toBe(first);
    expect(sampler.rows).toHaveLength(1);
    expect(first).toMatchObject({ connections: 5, messagesSent: 10, messagesReceived: 100, measuring: true, step: 3, serverCpuPct: null, proxyRssBytes: null });
    expect(first!.generatorCpuPct).toBeGreaterThan(50);
    expect(first!.generatorCpuPct).toBeLessThan(130);
    expect(first!.generatorRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(Math.abs(first!.elapsedS - (performance.now() - startedMs) / 1000)).toBeLessThan(0.3);
    counters = { ...counters, sent: 15, received: 130, step: null };
    await waitFor(() => sampler.rows.length >= 2, 'a second sample');
    expect([...sampler.rows][1]).toMatchObject({ messagesSent: 5, messagesReceived: 30, step: null });
    await sampler.stop();
    const rowsAtStop = sampler.rows.length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(sampler.rows.length).toBe(rowsAtStop);
  });

  it('puts the messages of a last interval too short to sample into the previous row, so the rows add up', async () => {
    let counters = { connections: 1, sent: 0, received: 0, measuring: true };
    const sampler = new ResourceSampler({ generator: process.pid }, () => counters, 60_000);
    await sampler.start();
    cleanup.add(() => sampler.stop());
    counters = { ...counters, sent: 4, received: 40 };
    await sampler.sampleNow();
    counters = { ...counters, sent: 7, received: 70 };
    await sampler.stop();
    expect(sampler.rows).toHaveLength(1);
    expect(sampler.rows.last()).toMatchObject({ messagesSent: 7, messagesReceived: 70 });
  });

  it('judges only the measured seconds once there are any, and every second before that', async () => {
    let measuring = false;
    const busy = await loadChild('busy', cleanup);
    const sampler = new ResourceSampler({ server: busy }, () => ({ connections: 0, sent: 0, received: 0, measuring }), 500);
    await sampler.start();
    cleanup.add(() => sampler.stop());
    await waitFor(() => sampler.rows.length >= 1, 'an unmeasured sample');
    expect(sampler.usageOf('server')!.cpuPctAvg).toBeGreaterThan(50);
    process.kill(busy, 'SIGSTOP');
    measuring = true;
    const measuredFrom = sampler.rows.length;
    await waitFor(() => sampler.rows.length >= measuredFrom + 2, 'measured samples');
    process.kill(busy, 'SIGCONT');
    await sampler.stop();
    // Stopped while measured: those seconds read (almost) nothing, whatever came before.
    expect(sampler.usageOf('server')!.cpuPctAvg).toBeLessThan(15);
  });

  it('takes the worst event-loop delay and the resources of the measured seconds only', () => {
    const sampler = new ResourceSampler({ server: 1, generator: process.pid }, () => ({ connections: 0, sent: 0, received: 0, measuring: false }));
    sampler.rows.append(row({ measuring: false, eventLoopDelayP99Us: 90_000, serverCpuPct: 90 }));
    expect(sampler.eventLoopDelayP99UsMax()).toBe(90_000);
    expect(sampler.usageOf('server')!.cpuPctAvg).toBe(90);
    for (const measured of [row({ measuring: true, eventLoopDelayP99Us: 3000, serverCpuPct: 10 }), row({ measuring: true, eventLoopDelayP99Us: 7000, serverCpuPct: 20 }), row({ measuring: true, eventLoopDelayP99Us: 5000, serverCpuPct: 30 })]) sampler.rows.append(measured);
    expect(sampler.eventLoopDelayP99UsMax()).toBe(7000);
    expect(sampler.usageOf('server')).toEqual({ cpuPctAvg: 20, cpuPctMax: 30, rssBytesMax: null });
    expect(sampler.usageOf('server', summarizeRows(sampler.rows))).toMatchObject({ cpuPctAvg: 37.5, cpuPctMax: 90 });
  });

  it('follows a replaced process from its first reading on', async () => {
    const first = await loadChild('idle', cleanup);
    const second = await loadChild('busy', cleanup);
    const sampler = new ResourceSampler({ server: first }, () => ({ connections: 0, sent: 0, received: 0, measuring: true }), 500);
    await sampler.start();
    cleanup.add(() => sampler.stop());
    sampler.setPid('server', second);
    await waitFor(() => [...sampler.rows].filter((r) => r.serverCpuPct !== null).length >= 2, 'readings of the new process');
    await sampler.stop();
    expect([...sampler.rows].filter((r) => r.serverCpuPct !== null).at(-1)!.serverCpuPct).toBeGreaterThan(50);
  });

  it('says null for a role it was not asked to sample, and survives a process that is gone', async () => {
    const exited = spawn(process.execPath, ['-e', 'process.exit(0)'], { stdio: 'ignore' });
    await once(exited, 'exit');
    const gone = exited.pid!;
    const sampler = new ResourceSampler({ server: gone }, () => ({ connections: 0, sent: 0, received: 0, measuring: true }), 500);
    await sampler.start();
    await sampler.sampleNow();
    await sampler.stop();
    expect(sampler.usageOf('proxy')).toBeNull();
    expect(sampler.usageOf('server')).toMatchObject({ cpuPctAvg: null });
  });
});
