import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { Client, request } from 'undici';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_OPTIONS } from '../servers/app.js';
import { clientContext, collect, getJson, publish, referenceSpec, referenceTarget, startServer, testCleanup } from './helpers.js';

const cleanup = testCleanup();
const server = cleanup.server;

/** Reads an SSE response until `done(text)` holds, then aborts it. */
async function readSse(url: string, headers: Record<string, string>, done: (text: string) => boolean): Promise<{ status: number; contentType: unknown; text: string }> {
  const controller = new AbortController();
  const response = await request(url, { headers, signal: controller.signal });
  let text = '';
  try {
    for await (const chunk of response.body) {
      text += chunk.toString();
      if (done(text)) break;
    }
  } finally {
    controller.abort();
  }
  return { status: response.statusCode, contentType: response.headers['content-type'], text };
}

describe('publish and history', () => {
  it('answers 201 with the message; the bearer token becomes the user id', async () => {
    const url = await server();
    const first = await publish(url, 'r', 'hello', { authorization: 'Bearer alice' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: 1, chatRoomId: 'r', userId: 'alice', content: 'hello' });
    expect(new Date(first.body.createdAt).toISOString()).toBe(first.body.createdAt);
    expect((await publish(url, 'r', 'again')).body).toMatchObject({ id: 2, userId: 'anonymous' });
    const jwt = `h.${Buffer.from(JSON.stringify({ sub: 'user-7' })).toString('base64url')}.s`;
    expect((await publish(url, 'r', 'jwt', { authorization: `Bearer ${jwt}` })).body.userId).toBe('user-7');
  });

  it('rejects bad input with the contract error shape and stores nothing', async () => {
    const url = await server();
    const post = async (body: string, contentType = 'application/json') => {
      const response = await request(`${url}/messages`, { method: 'POST', headers: { 'content-type': contentType }, body });
      return { status: response.statusCode, body: (await response.body.json()) as { error: { code: string } } };
    };
    const cases: Array<[string, number, string]> = [
      ['{bad json', 400, 'INVALID_JSON'],
      ['[]', 400, 'INVALID_JSON'],
      ['{"content":"x"}', 400, 'INVALID_FIELD'],
      ['{"chatRoomId":"r"}', 400, 'INVALID_FIELD'],
      ['{"chatRoomId":5,"content":"x"}', 400, 'INVALID_FIELD'],
      ['{"chatRoomId":"r","content":7}', 400, 'INVALID_FIELD'],
      [JSON.stringify({ chatRoomId: 'r', content: 'x'.repeat(10_001) }), 413, 'CONTENT_TOO_LONG'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await post(body);
      expect(answer.status, body.slice(0, 40)).toBe(status);
      expect(answer.body.error.code, body.slice(0, 40)).toBe(code);
    }
    // A body that is not sent as JSON is not a message, whatever it contains.
    expect((await post('{"chatRoomId":"r","content":"x"}', 'text/plain')).status).toBe(400);
    expect((await post('chatRoomId=r', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await getJson(`${url}/messages?chatRoomId=r&since=0`)).body).toEqual([]);
    // 10,000 characters counted as code points: 10,000 emoji are accepted.
    expect((await publish(url, 'r', '🚀'.repeat(10_000))).status).toBe(201);
    expect((await getJson(`${url}/nowhere`)).body.error.code).toBe('NOT_FOUND');
    expect((await getJson(`${url}/messages?since=0`)).status).toBe(400);
  });

  it('serves history after an id with a limit, and the gap header when history is short', async () => {
    const url = await server({ historyLimit: 3 });
    for (let i = 1; i <= 5; i++) await publish(url, 'h', `m${i}`);
    const all = await getJson(`${url}/messages?chatRoomId=h&since=0`);
    expect(all.body.map((m: { id: number }) => m.id)).toEqual([3, 4, 5]);
    expect(all.headers['x-gap']).toBe('1-2');
    const limited = await getJson(`${url}/messages?chatRoomId=h&since=3&limit=1`);
    expect(limited.body.map((m: { id: number }) => m.id)).toEqual([4]);
    expect(limited.headers['x-gap']).toBeUndefined();
  });
});

describe('SSE wire format', () => {
  it('starts with retry: and the connected event, then one message event per message with its id', async () => {
    const url = await server();
    await publish(url, 's', 'one');
    await publish(url, 's', 'two');
    const { status, contentType, text } = await readSse(`${url}/sse/chat-rooms/s/messages?since=1`, {}, (t) => t.includes('"two"'));
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(text.startsWith('retry: ')).toBe(true);
    const events = text.split('\n\n').filter(Boolean);
    expect(events[1]).toMatch(/^event: connected\ndata: /);
    expect(events[2]).toMatch(/^event: message\nid: 2\ndata: \{"id":2,/);
    expect(text).not.toContain('"one"');
  });

  it('resumes from Last-Event-ID and signals a gap', async () => {
    const url = await server({ historyLimit: 2 });
    for (let i = 1; i <= 5; i++) await publish(url, 'g', `m${i}`);
    const { text } = await readSse(`${url}/sse/chat-rooms/g/messages`, { 'last-event-id': '1' }, (t) => t.includes('"m5"'));
    expect(text).toContain('event: gap\ndata: {"from":2,"to":3}');
    expect(text.indexOf('event: gap')).toBeLessThan(text.indexOf('"m4"'));
    const bad = await getJson(`${url}/sse/chat-rooms/g/messages`, { 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
  });

  it('sends a heartbeat comment every heartbeat interval', async () => {
    const url = await server({ heartbeatMs: 20 });
    const { text } = await readSse(`${url}/sse/chat-rooms/hb/messages`, {}, (t) => t.includes(': ping\n\n'));
    expect(text).toContain(': ping\n\n');
  });
});

describe('WebSocket wire format', () => {
  it('replays with since, gap frame first, then live messages as text frames', async () => {
    const url = await server({ historyLimit: 2 });
    for (let i = 1; i <= 4; i++) await publish(url, 'w', `m${i}`);
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws/chat-rooms/w/messages?since=1`);
    cleanup.add(() => socket.terminate());
    const frames: unknown[] = [];
    const enough = new Promise<void>((resolve) => {
      socket.on('message', (data) => {
        frames.push(JSON.parse(data.toString()));
        if (frames.length === 4) resolve();
      });
    });
    await once(socket, 'open');
    await publish(url, 'w', 'live');
    await enough;
    expect(frames[0]).toEqual({ type: 'gap', from: 2, to: 2 });
    expect(frames.slice(1).map((f) => (f as { content: string }).content)).toEqual(['m3', 'm4', 'live']);
  });

  it('refuses a bad since before upgrading', async () => {
    const url = await server();
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws/chat-rooms/w/messages?since=x`);
    socket.on('error', () => {}); // terminating before the handshake completes emits one
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number; resume(): void }];
    response.resume();
    socket.terminate();
    expect(response.statusCode).toBe(400);
  });
});

describe('long polling wire format', () => {
  it('answers at once when a newer message exists, else [] after the timeout', async () => {
    const url = await server();
    await publish(url, 'lp', 'kept');
    const ready = await getJson(`${url}/long-polling/chat-rooms/lp/messages?since=0`);
    expect(ready.body.map((m: { content: string }) => m.content)).toEqual(['kept']);
    const empty = await getJson(`${url}/long-polling/chat-rooms/lp/messages?since=1&timeout=30`);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual([]);
  });

  it('without since, answers only what is published while the poll waits', async () => {
    const url = await server();
    await publish(url, 'seed', 'old');
    const pending = getJson(`${url}/long-polling/chat-rooms/seed/messages?timeout=10000`);
    // Publish until the held poll answers: it can only answer with a message published after it arrived.
    let answered = false;
    void pending.then(() => (answered = true));
    for (let i = 0; i < 100 && !answered; i++) await publish(url, 'seed', `new-${i}`);
    const { body } = await pending;
    expect(body).toHaveLength(1);
    expect(body[0].content).toMatch(/^new-/);
  });

  it('sends X-Gap when the cursor is older than the kept history', async () => {
    const url = await server({ historyLimit: 1 });
    for (let i = 1; i <= 3; i++) await publish(url, 'x', `m${i}`);
    const answer = await getJson(`${url}/long-polling/chat-rooms/x/messages?since=0`);
    expect(answer.headers['x-gap']).toBe('1-2');
    expect(answer.body.map((m: { id: number }) => m.id)).toEqual([3]);
  });
});

describe('slow consumers', () => {
  /** Opens a subscription by hand and stops reading once the response head has arrived. */
  async function stalledSubscriber(url: string, path: string, upgrade: boolean): Promise<net.Socket> {
    const { port } = new URL(url);
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    cleanup.add(() => socket.destroy());
    await once(socket, 'connect');
    const head = upgrade
      ? `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`
      : `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`;
    socket.write(head);
    await once(socket, 'data');
    socket.pause();
    return socket;
  }

  it.each([
    ['ws', true],
    ['sse', false],
  ] as const)('%s: a subscriber that stops reading is dropped once 8 MiB is buffered for it; a reading one is not', async (transport, upgrade) => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const room = `slow-${transport}`;
    const connections = (): Promise<number> => new Promise((resolve, reject) => app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    const reader = collect(transport, clientContext(), referenceSpec(referenceTarget(url, transport), room));
    cleanup.add(() => reader.subscription.close());
    await reader.subscription.ready;
    await stalledSubscriber(url, `/${transport}/chat-rooms/${room}/messages`, upgrade);
    const content = 'x'.repeat(10_000);
    // One publisher connection, open (and counted) before the baseline is taken.
    const publisher = new Client(url, { pipelining: 1 });
    cleanup.add(() => publisher.close());
    const publishOne = async (): Promise<void> => {
      const response = await publisher.request({ path: '/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chatRoomId: room, content }) });
      await response.body.dump();
      expect(response.statusCode).toBe(201);
    };
    await publishOne();
    let published = 1;
    const before = await connections();
    // Bounded: 64 MiB is far beyond 8 MiB plus what the kernel buffers on loopback.
    while (published * content.length < 64 * 1024 * 1024) {
      for (let i = 0; i < 20; i++) await publishOne();
      published += 20;
      await reader.until((r) => r.contents.length === published, 'the reader to keep up');
      if ((await connections()) < before) break;
    }
    const droppedAfterBytes = published * content.length;
    expect(await connections(), 'the stalled subscriber was never dropped').toBeLessThan(before);
    // Not before 8 MiB was queued for it (its socket buffers hold some of that in the kernel)...
    expect(droppedAfterBytes).toBeGreaterThanOrEqual(DEFAULT_SERVER_OPTIONS.maxBufferedBytes);
    // ...and not long after: at most what loopback's kernel buffers can hold beyond it.
    expect(droppedAfterBytes).toBeLessThan(DEFAULT_SERVER_OPTIONS.maxBufferedBytes + 24 * 1024 * 1024);
    expect(reader.subscription.stats()).toMatchObject({ connected: true, disconnects: 0 });
    expect(reader.received.contents).toHaveLength(published);
  }, 60_000);
});
