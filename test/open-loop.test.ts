import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countAtOrAbove, decodeHistogram } from '../core/histogram.js';
import { packageRoot } from '../core/paths.js';
import type { RunSummary } from '../core/result.js';
import { startServer, testCleanup } from './helpers.js';
import { onlyRunFolder, outRoot, runJson, startCli, waitForStderr } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();

/**
 * Open loop end to end: a generator that falls behind its schedule must show it in the latency, not
 * hide it. Bursts of 3 messages 10 ms apart, each send preceded by 40 ms of the publisher holding the
 * thread (fixtures/profiles/busy-publisher.mjs): the third message of a burst is scheduled 20 ms in
 * but starts about 80 ms in, so from its schedule it takes 60 ms more than from its actual start.
 */
describe('latency from the scheduled send', () => {
  it('counts the time a late generator held a message before sending it', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const profile = join(packageRoot, 'test', 'fixtures', 'profiles', 'busy-publisher.mjs');
    const [result] = (await runJson(['burst', '--target', url, '--profile', profile, '--transport', 'ws', '--subscribers', '2', '--bursts', '10', '--burst-size', '3', '--gap', '10ms', '--pause', '200ms', '--warmup', '1', '--out', outDir('busy')])).transports;
    expect(result!.messages).toMatchObject({ expected: 60, received: 60, lost: 0 });
    // Sends start late: by about 30 ms for the second message of a burst and 60 ms for the third.
    expect(result!.latencyUs.sendLag.p99!).toBeGreaterThanOrEqual(50_000);
    // Counted from the schedule, the third message's latency holds its send lag plus the 40 ms
    // before its own send; counted from the actual start it would be about 40 ms.
    expect(result!.latencyUs.perMessage.max!).toBeGreaterThanOrEqual(90_000);
    expect(result!.latencyUs.perMessage.p50!).toBeGreaterThanOrEqual(60_000);
    // And the run says its generator was the limit.
    expect(result!.generator.saturated).toBe(true);
  }, 60_000);

  it('counts a stalled generator: rtbench stopped for 1 s mid-burst while its server runs on', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    // Bursts of 3, 50 ms apart, every 200 ms: 15 messages a second to 4 subscribers, for 4 s.
    const dir = outDir('stalled');
    const run = startCli(['burst', '--target', url, '--transport', 'ws', '--subscribers', '4', '--bursts', '20', '--gap', '50ms', '--pause', '100ms', '--warmup', '1', '--out', dir]);
    await waitForStderr(run, /publishing 20 bursts/);
    // The stimulus, not a wait for something: a second into the schedule, the whole process stops for one.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(run.child.pid!, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(run.child.pid!, 'SIGCONT');
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(0);
    const [result] = (JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary).transports;
    expect(result!.messages).toMatchObject({ expected: 240, received: 240, lost: 0, duplicated: 0 });
    // Messages due in the stall's first tenth went out at least 900 ms late: more than 1% of them.
    expect(result!.latencyUs.sendLag.p99!).toBeGreaterThanOrEqual(900_000);
    // From the schedule, a message due in the stall's first half reads 500 ms or more: about 7 of the
    // 15 due in that second, to 4 subscribers each. Counted from the actual send, only a message
    // already on its way when the process stopped could (one burst at most, 12 deliveries).
    const slow = countAtOrAbove(decodeHistogram(result!.histograms.perMessage), 500_000);
    expect(slow).toBeGreaterThanOrEqual(4 * 5);
    expect(slow).toBeLessThanOrEqual(4 * 16);
    expect(result!.latencyUs.perMessage.max!).toBeGreaterThanOrEqual(900_000);
    expect(result!.generator.saturated).toBe(true);
  }, 60_000);
});
