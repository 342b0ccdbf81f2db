import { createServer } from 'node:http';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import type { TransportResult } from '../core/result.js';
import { startChild } from '../run/child.js';
import { metricValue } from '../run/prometheus.js';
import { startServer, testCleanup } from './helpers.js';
import { outRoot, runCli, runJson } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();
const MiB = 1024 * 1024;
/** A burst of about 3 s: several once-a-second samples. */
const burst = (url: string): string[] => ['burst', '--target', url, '--transport', 'ws', '--subscribers', '2', '--bursts', '30', '--burst-size', '1', '--pause', '100ms'];

/** Serves Prometheus text from `page(secondsSinceStart)`. */
async function metricsServer(page: (seconds: number) => string): Promise<string> {
  const started = performance.now();
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(page((performance.now() - started) / 1000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/actuator/prometheus`;
}

describe("the target's own CPU and memory", () => {
  it('--server-pid samples the processes given and their children, as the built-in server is sampled', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    // 96 MiB in the process and in each of its two children: 288 MiB and more, and busy a third of a core.
    const ballast = await startChild('ballast', join(packageRoot, 'test', 'fixtures', 'ballast.mjs'), ['96', '2', '33']);
    cleanup.add(() => ballast.stop());
    const run = (await runJson([...burst(url), '--server-pid', String(ballast.pid), '--out', outDir('pids')])).transports[0] as TransportResult;
    expect(run.serverUsage?.rssBytesMax).toBeGreaterThanOrEqual(288 * MiB);
    // Three Node processes' own memory on top, not more.
    expect(run.serverUsage?.rssBytesMax).toBeLessThan(288 * MiB + 3 * 100 * MiB);
    expect(run.serverUsage?.cpuPctAvg).toBeGreaterThan(15);
    expect(run.serverUsage?.cpuPctAvg).toBeLessThan(70);
    expect(run.serverUsageNotes).toBeUndefined();
  }, 60_000);

  it('--server-metrics reads a Prometheus endpoint once a second: CPU from the counter, RSS from the gauge', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    // Half a core, 123,456,789 bytes; an unrelated metric and a labelled one around them.
    const metrics = await metricsServer((s) => ['# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.', '# TYPE process_cpu_seconds_total counter', `process_cpu_seconds_total ${(100 + s * 0.5).toFixed(3)}`, 'jvm_threads_live_threads{application="chat"} 42', 'process_resident_memory_bytes 1.23456789E8', ''].join('\n'));
    const run = (await runJson([...burst(url), '--server-metrics', metrics, '--out', outDir('metrics')])).transports[0] as TransportResult;
    expect(run.serverUsage?.rssBytesMax).toBe(123_456_789);
    expect(run.serverUsage?.cpuPctAvg).toBeGreaterThanOrEqual(40);
    expect(run.serverUsage?.cpuPctAvg).toBeLessThanOrEqual(60);
    expect(run.serverUsageNotes).toBeUndefined();
  }, 60_000);

  it('a metrics endpoint that answers garbage, or a counter that goes back, leaves the figures empty with a note, never a crash', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const garbage = await metricsServer(() => '<html>not metrics</html>\nprocess_cpu_seconds_total banana\n');
    const run = (await runJson([...burst(url), '--server-metrics', garbage, '--out', outDir('garbage')])).transports[0] as TransportResult;
    expect(run.state).toBe('completed');
    expect(run.serverUsage).toEqual({ cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null });
    expect(run.serverUsageNotes?.join(' ')).toMatch(/has no process_cpu_seconds_total.*|has no process_resident_memory_bytes/);
    // A counter that falls by a second each second: every reading but the first went back.
    const back = await metricsServer((s) => `process_cpu_seconds_total ${1000 - Math.floor(s)}\nprocess_resident_memory_bytes 1000\n`);
    const restarted = (await runJson([...burst(url), '--server-metrics', back, '--out', outDir('back')])).transports[0] as TransportResult;
    expect(restarted.serverUsage?.cpuPctAvg).toBeNull();
    expect(restarted.serverUsage?.rssBytesMax).toBe(1000);
    expect(restarted.serverUsageNotes?.join(' ')).toMatch(/process_cpu_seconds_total went back/);
    // Nothing listening: refused, said, and the run completes.
    const closed = (await runJson([...burst(url), '--server-metrics', 'http://127.0.0.1:1/metrics', '--out', outDir('closed')])).transports[0] as TransportResult;
    expect(closed.state).toBe('completed');
    expect(closed.serverUsageNotes?.join(' ')).toMatch(/could not be read \(ECONNREFUSED\)/);
  }, 90_000);

  it('parses Prometheus samples: bare, labelled (summed), exponents; absent or negative is null', () => {
    expect(metricValue('process_cpu_seconds_total 12.5\n', 'process_cpu_seconds_total')).toBe(12.5);
    expect(metricValue('x_total{a="1"} 2\nx_total{a="2"} 3 1700000000\n', 'x_total')).toBe(5);
    expect(metricValue('m 1.5e3', 'm')).toBe(1500);
    expect(metricValue('m_other 1', 'm')).toBeNull();
    expect(metricValue('m -1', 'm')).toBeNull();
    expect(metricValue('m NaN', 'm')).toBeNull();
  });

  it('refuses them without --target, together, or for a process that does not exist', async () => {
    const both = await runCli(['burst', '--target', 'http://127.0.0.1:1', '--server-pid', String(process.pid), '--server-metrics', 'http://127.0.0.1:1/m', '--dry-run']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--server-metrics.*either --server-pid or --server-metrics/);
    const builtIn = await runCli(['burst', '--server-pid', String(process.pid), '--dry-run']);
    expect(builtIn.code).toBe(2);
    expect(builtIn.stderr).toMatch(/--server-pid.*only with --target/);
    const gone = await runCli(['burst', '--target', 'http://127.0.0.1:1', '--server-pid', '999999999', '--dry-run']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/--server-pid.*999999999.*running process/);
  });
});

describe('pinning', () => {
  it('is refused with a clear error where taskset is absent, and recorded where it is done', async () => {
    // A PATH with node but no taskset.
    const bin = mkdtempSync(join(tmpdir(), 'rtbench-no-taskset-'));
    writeFileSync(join(bin, 'node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`);
    chmodSync(join(bin, 'node'), 0o755);
    const refused = await runCli(['burst', '--generator-cpus', '0', '--dry-run'], { env: { ...process.env, PATH: bin } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--generator-cpus.*"0".*needs taskset \(util-linux\), which is not on the PATH/);
    const tooMany = await runCli(['burst', '--server-cpus', '4096', '--dry-run']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/--server-cpus.*CPU list|--server-cpus.*this machine has CPUs/);
  });

  it('pins the built-in server and rtbench to the CPUs given, and says so in the summary', async () => {
    const run = (await runJson(['burst', '--transport', 'ws', '--subscribers', '2', '--bursts', '5', '--server-cpus', '0', '--generator-cpus', '0', '--out', outDir('pinned')])).transports[0] as TransportResult;
    expect(run.cpus).toEqual({ server: '0', generator: '0' });
    expect(run.config.serverCpus).toEqual([0]);
  }, 60_000);
});
