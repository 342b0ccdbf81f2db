import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Follower, Published, Replay } from '../servers/bus.js';
import { deliverOnce } from '../servers/bus.js';
import { RedisBus } from '../servers/redis-bus.js';
import { dropKeys, redisClient } from '../core/redis.js';
import { DelayProxy } from '../run/proxy.js';
import { testCleanup, waitFor } from './helpers.js';

// Redis runs on this machine and in CI (127.0.0.1:6379); each test has a prefix of its own.
const REDIS_URL = 'redis://127.0.0.1:6379';
const cleanup = testCleanup();

function prefix(): string {
  return `rtbench-test:${randomUUID()}`;
}

async function bus(keyPrefix: string, url = REDIS_URL, historyLimit = 100): Promise<RedisBus> {
  const connected = await RedisBus.connect({ url, prefix: keyPrefix, historyLimit });
  cleanup.add(() => connected.close());
  return connected;
}

/** A follower that keeps what it is handed, each id once, as the transport plugins do. */
function follower(): Follower & { ids: number[]; replays: Replay[]; failures: string[] } {
  const ids: number[] = [];
  const replays: Replay[] = [];
  const failures: string[] = [];
  const send = deliverOnce((published: Published) => ids.push(published.message.id));
  return {
    ids,
    replays,
    failures,
    replay: (replay) => {
      replays.push(replay);
      for (const published of replay.messages) send(published);
    },
    live: send,
    fail: (code) => failures.push(code),
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('RedisBus (several server instances on one Redis)', () => {
  it('numbers a room strictly increasing across instances, and every instance hears every message in order', async () => {
    const keyPrefix = prefix();
    cleanup.add(() => dropKeys(REDIS_URL, keyPrefix));
    const [a, b, c] = [await bus(keyPrefix), await bus(keyPrefix), await bus(keyPrefix)];
    const onB = follower();
    const onC = follower();
    b.follow('room', null, onB);
    c.follow('room', null, onC);
    const published = await Promise.all(range(1, 30).map((i) => [a, b, c][i % 3]!.publish('room', 'u', `m${i}`)));
    expect(published.map((p) => p.message.id).sort((x, y) => x - y)).toEqual(range(1, 30));
    expect((await a.publish('other', 'u', 'x')).message.id).toBe(1);
    await waitFor(() => onB.ids.length === 30 && onC.ids.length === 30, 'every message on instances b and c');
    expect(onB.ids).toEqual(range(1, 30));
    expect(onC.ids).toEqual(range(1, 30));
    const first = published.find((p) => p.message.id === 1) as Published;
    expect(JSON.parse(first.json)).toEqual(first.message);
    expect(Object.keys(first.message)).toEqual(['id', 'chatRoomId', 'userId', 'content', 'createdAt']);
  });

  it('resumes from any instance: history lives in Redis, bounded, with the gap said', async () => {
    const keyPrefix = prefix();
    cleanup.add(() => dropKeys(REDIS_URL, keyPrefix));
    const a = await bus(keyPrefix, REDIS_URL, 5);
    const b = await bus(keyPrefix, REDIS_URL, 5);
    for (const i of range(1, 8)) await a.publish('r', 'u', `m${i}`);
    expect((await b.since('r', 5)).messages.map((p) => p.message.content)).toEqual(['m6', 'm7', 'm8']);
    expect(await b.since('r', 8)).toEqual({ messages: [], gap: null });
    expect(await b.since('empty', 0)).toEqual({ messages: [], gap: null });
    const trimmed = await b.since('r', 1);
    expect(trimmed.gap).toEqual({ from: 2, to: 3 });
    expect(trimmed.messages.map((p) => p.message.id)).toEqual([4, 5, 6, 7, 8]);
    expect((await b.since('r', 0, 2)).messages.map((p) => p.message.id)).toEqual([4, 5]);
    // A cursor from another incarnation of the history (Redis emptied) is a gap, then everything kept.
    const ahead = await b.since('r', 20);
    expect(ahead.gap).toEqual({ from: 9, to: 20 });
    expect(ahead.messages.map((p) => p.message.id)).toEqual([4, 5, 6, 7, 8]);

    // A follower resuming on b after id 6 gets 7, 8, then what a publishes next, each once.
    const resumed = follower();
    b.follow('r', 6, resumed);
    await a.publish('r', 'u', 'm9');
    await waitFor(() => resumed.ids.includes(9), 'the live message after the replay');
    expect(resumed.ids).toEqual([7, 8, 9]);
    expect(resumed.replays).toHaveLength(1);
  });

  it('an instance whose subscription was lost reads what it missed from the stream: nothing accepted is lost', async () => {
    const keyPrefix = prefix();
    cleanup.add(() => dropKeys(REDIS_URL, keyPrefix));
    const a = await bus(keyPrefix);
    const b = await bus(keyPrefix);
    const onB = follower();
    b.follow('r', null, onB);
    await a.publish('r', 'u', 'm1');
    await waitFor(() => onB.ids.length === 1, 'the first message');
    // Kill b's pub/sub connection (found by its name); node-redis reconnects and subscribes again.
    const admin = redisClient(REDIS_URL);
    await admin.connect();
    cleanup.add(() => admin.close());
    const clients = String(await admin.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
    const id = /id=(\d+) .*name=(\S+)/g;
    const killed: string[] = [];
    for (const match of clients.matchAll(id)) {
      if (match[2] === `${keyPrefix}:subscriber` && match[1]) killed.push(match[1]);
    }
    expect(killed.length).toBeGreaterThanOrEqual(1);
    for (const clientId of killed) await admin.sendCommand(['CLIENT', 'KILL', 'ID', clientId]);
    for (const i of range(2, 6)) await a.publish('r', 'u', `m${i}`);
    await waitFor(() => onB.ids.length === 6, 'the messages published while b was not subscribed', 15_000);
    expect(onB.ids).toEqual(range(1, 6));
    await a.publish('r', 'u', 'm7');
    await waitFor(() => onB.ids.length === 7, 'live messages again');
    expect(onB.ids).toEqual(range(1, 7));
  });

  it('refuses publishes while Redis is unreachable, recovers by itself, and its followers catch up', async () => {
    const keyPrefix = prefix();
    cleanup.add(() => dropKeys(REDIS_URL, keyPrefix));
    const proxy = new DelayProxy({ upstreamHost: '127.0.0.1', upstreamPort: 6379, delayMs: 0, jitterMs: 0, mode: 'link', seed: 1 });
    const proxyUrl = (await proxy.listen()).replace(/^http:/, 'redis:');
    cleanup.add(() => proxy.close());
    const cut = await bus(keyPrefix, proxyUrl);
    const direct = await bus(keyPrefix);
    const onCut = follower();
    cut.follow('r', null, onCut);
    await direct.publish('r', 'u', 'm1');
    await waitFor(() => onCut.ids.length === 1, 'the first message');

    proxy.setRefusing(true);
    proxy.cutAll();
    await expect(cut.publish('r', 'u', 'refused')).rejects.toThrow();
    const resuming = follower();
    cut.follow('r', 0, resuming);
    await waitFor(() => resuming.failures.length === 1, 'a resuming follower told the bus is down');
    // Meanwhile the other instance, still connected, publishes: accepted, so they must arrive.
    for (const i of range(2, 4)) await direct.publish('r', 'u', `m${i}`);

    proxy.setRefusing(false);
    await waitFor(() => onCut.ids.length === 4, 'the messages accepted during the outage', 15_000);
    expect(onCut.ids).toEqual(range(1, 4));
    // Publishes are refused until the command connection is back; then accepted, with the next id.
    let accepted: Published | null = null;
    for (const limit = Date.now() + 15_000; accepted === null && Date.now() < limit; ) {
      accepted = await cut.publish('r', 'u', 'after').catch(() => null);
      if (accepted === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((accepted as Published | null)?.message.id).toBe(5);
  });

  it('a server that cannot reach its bus at start says so instead of waiting', async () => {
    await expect(RedisBus.connect({ url: 'redis://127.0.0.1:1', prefix: prefix(), historyLimit: 10 })).rejects.toThrow(/ECONNREFUSED/);
  });
});
