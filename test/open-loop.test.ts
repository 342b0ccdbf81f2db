import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import { startServer, testCleanup } from './helpers.js';
import { outRoot, runJson } from './support/cli.js';

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
});
