import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropKeys, redisClient } from '../core/redis.js';
import { instanceOf, roundRobinChannel, subscriberContext } from '../load/spread.js';
import type { PublishChannel } from '../targets/types.js';
import type { RunSummary } from '../core/result.js';
import { referenceTarget, testCleanup } from './helpers.js';
import { isAlive, onlyRunFolder, outRoot, runCli, runJson } from './support/cli.js';
import { detailsOf } from '../core/details.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const outDir = outRoot();
const cleanup = testCleanup();

async function keysUnder(prefix: string): Promise<string[]> {
  const client = redisClient(REDIS_URL);
  await client.connect();
  try {
    return await client.keys(`${prefix}:*`);
  } finally {
    await client.close();
  }
}

describe('spreading subscribers and publishes over instances', () => {
  it('round-robin deals subscribers in turn; hash keeps each on one instance and uses them all', () => {
    expect(Array.from({ length: 6 }, (_, i) => instanceOf(i, 3, 'round-robin'))).toEqual([0, 1, 2, 0, 1, 2]);
    const hashed = Array.from({ length: 300 }, (_, i) => instanceOf(i, 3, 'hash'));
    expect(Array.from({ length: 300 }, (_, i) => instanceOf(i, 3, 'hash'))).toEqual(hashed);
    for (const instance of [0, 1, 2]) expect(hashed.filter((h) => h === instance).length).toBeGreaterThan(60);
    expect(hashed.slice(0, 12)).not.toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(instanceOf(7, 1, 'hash')).toBe(0);
  });

  it("a subscriber's context names its instance; a context of one server is left as it is", () => {
    const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
    const cluster = referenceTarget(urls[0]!, 'ws', { instanceUrls: urls, spread: 'round-robin' });
    expect([0, 1, 2, 3].map((index) => subscriberContext(cluster, { index, room: 0 }).url)).toEqual([...urls, urls[0]]);
    expect(subscriberContext(cluster, { index: 4, room: 0 }).directUrl).toBe(urls[1]);
    const single = referenceTarget(urls[0]!, 'ws');
    expect(subscriberContext(single, { index: 5, room: 0 })).toBe(single);
  });

  it('publishes go to each instance in turn, and closing closes them all', async () => {
    const sent: number[] = [];
    let closed = 0;
    const channel = (n: number): PublishChannel => ({
      publish: async () => {
        sent.push(n);
        return { rttUs: 1, errorCode: null };
      },
      close: async () => {
        closed++;
      },
    });
    const spread = roundRobinChannel([channel(0), channel(1), channel(2)]);
    for (let i = 0; i < 7; i++) await spread.publish(0, 'x');
    expect(sent).toEqual([0, 1, 2, 0, 1, 2, 0]);
    await spread.close();
    expect(closed).toBe(3);
  });
});

describe('rtbench on a cluster of built-in servers (--instances, --bus redis)', () => {
  it.each([
    [['burst', '--instances', '3'], ['--instances', '3', '--bus redis']],
    [['burst', '--bus', 'kafka'], ['--bus', 'kafka', 'memory', 'redis://']],
    [['burst', '--instances', '2', '--bus', 'redis', '--target', 'http://127.0.0.1:9'], ['--instances', '2', '--target']],
    [['burst', '--instances', '2', '--bus', 'redis', '--delay', '10'], ['--delay', '10', 'several instances']],
    [['burst', '--instances', '17', '--bus', 'redis'], ['--instances', '17', 'from 1 to 16']],
    [['burst', '--spread', 'random'], ['--spread', 'random', 'round-robin', 'hash']],
    [['soak', '--instances', '2', '--bus', 'redis', '--cut-at', '1m'], ['--instances', '2', 'proxy']],
  ])('rejects %j with exit 2, naming the option, the value and what is accepted', async (args, mentions) => {
    const { code, stderr } = await runCli(args);
    expect(code, stderr).toBe(2);
    for (const text of mentions) expect(stderr).toContain(text);
  });

  it('--dry-run says where the load would go', async () => {
    const { code, stdout } = await runCli(['burst', '--instances', '3', '--bus', 'redis', '--spread', 'hash', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toContain('on 3 built-in instances sharing redis://127.0.0.1:6379 (spread hash)');
  });

  it('measures every transport across three instances with nothing lost, then leaves no process and no key', async () => {
    const dir = outDir('three');
    const { code, stderr } = await runCli(['burst', '--instances', '3', '--bus', 'redis', '--subscribers', '6', '--bursts', '20', '--out', dir]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary;
    const pids = [...stderr.matchAll(/3 built-in server instances on \S+ \(pids ([\d, ]+)\)/g)].flatMap((m) => m[1]!.split(', ').map(Number));
    expect(pids).toHaveLength(4 * 3);
    for (const pid of pids) expect(isAlive(pid), `instance ${pid}`).toBe(false);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling', 'stomp']);
    for (const result of summary.transports) {
      expect(result.state, result.transport).toBe('completed');
      expect(result.config).toMatchObject({ instances: 3, bus: REDIS_URL, spread: 'round-robin' });
      // Every subscriber hears every message, whichever instance it was published to.
      expect(result.messages, result.transport).toMatchObject({ expected: 6 * 20 * 3, received: 6 * 20 * 3, lost: 0, duplicated: 0, outOfOrder: 0 });
      // The server's CPU and memory are the three instances' added up.
      expect(result.serverUsage?.rssBytesMax ?? 0, result.transport).toBeGreaterThan(3 * 30 * 1024 * 1024);
      expect(await keysUnder(`rtbench:${result.runId}`)).toEqual([]);
    }
  });

  it('spreads by hash too, and measures a cluster named by several --target URLs', async () => {
    const prefix = `rtbench-test:${randomUUID()}`;
    cleanup.add(() => dropKeys(REDIS_URL, prefix));
    const urls = [await cleanup.server({ bus: REDIS_URL, busPrefix: prefix }), await cleanup.server({ bus: REDIS_URL, busPrefix: prefix })];
    const summary = await runJson(['burst', '--target', urls.join(','), '--transport', 'sse', '--subscribers', '5', '--bursts', '10', '--spread', 'hash', '--out', outDir('targets')]);
    const [result] = summary.transports;
    expect(result?.messages).toMatchObject({ expected: 150, received: 150, lost: 0, outOfOrder: 0 });
    expect(result?.config).toMatchObject({ spread: 'hash' });
    expect((await keysUnder(prefix)).length).toBeGreaterThan(0); // a user's cluster: its keys are its own
  });

  it('a bus that cannot be reached fails the run at start, saying why', async () => {
    const { code, stderr } = await runCli(['burst', '--transport', 'ws', '--instances', '2', '--bus', 'redis://127.0.0.1:1', '--out', outDir('no-redis')]);
    expect(code).toBe(1);
    expect(stderr).toContain('ECONNREFUSED');

  });

  it('faults: a full restart, a rolling restart and a Redis outage lose nothing the cluster accepted, resume on', async () => {
    const connections = 5;
    const dir = outDir('faults');
    const { code, stderr } = await runCli(['faults', '--instances', '2', '--bus', 'redis', '--transport', 'all', '--modes', 'on', '--connections', String(connections), '--window', '3s', '--outage', '1s', '--deadline', '2500ms', '--out', dir]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(onlyRunFolder(dir), 'summary.json'), 'utf8')) as RunSummary;
    for (const result of summary.transports) {
      const rows = detailsOf(result, 'faults')!.faults;
      expect(rows.map((row) => row.fault), result.transport).toEqual(['restart', 'rolling-restart', 'bus-outage']);
      for (const row of rows) {
        const what = `${result.transport} ${row.fault}`;
        // Lost counts a refused publish once per subscriber; everything the cluster accepted arrived.
        expect(row.messages.lost, what).toBe(row.publishErrors * connections);
        expect(row.messages.received, what).toBe(row.messages.expected - row.messages.lost);
        expect(row.messages.duplicated + row.messages.outOfOrder, what).toBe(0);
        // History is in Redis: a restart leaves no gap to signal.
        expect(row.gaps, what).toBe(0);
        expect(row.recoveryMs, what).not.toBeNull();
      }
      // Every instance was restarted once: every subscriber lost its connection once.
      expect(rows[1]?.disconnects, result.transport).toBe(connections);
      // Redis was away for 1 s at 4 messages a second: publishes were refused (503), then accepted again.
      expect(rows[2]?.publishErrors, result.transport).toBeGreaterThan(0);
      expect(rows[2]?.messages.received, result.transport).toBeGreaterThan(0);
      expect(result.errors['publish:HTTP_503'], result.transport).toBe(rows[2]?.publishErrors);
    }
  }, 240_000);
});
