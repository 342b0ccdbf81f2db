import { once } from 'node:events';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { FrameError, FrameParser, escapeHeader, negotiateHeartbeat, parseHeartbeat, serializeFrame } from '../core/stomp-frames.js';
import { publish, testCleanup } from './helpers.js';

const cleanup = testCleanup();

describe('STOMP frames', () => {
  it('parses frames split anywhere, several per chunk, with heart-beat EOLs between them', () => {
    const parser = new FrameParser();
    const text = `\n${serializeFrame('SEND', { destination: '/a', 'content-length': 4 }, 'h\u00e9l')}\r\n\n${serializeFrame('DISCONNECT', { receipt: 'r1' })}`;
    const frames = [];
    for (const char of text) frames.push(...parser.push(char));
    expect(frames).toEqual([
      { command: 'SEND', headers: { destination: '/a', 'content-length': '4' }, body: 'h\u00e9l' },
      { command: 'DISCONNECT', headers: { receipt: 'r1' }, body: '' },
    ]);
    expect(parser.push('\n\n\r\n')).toEqual([]);
  });

  it('escapes header values (not in CONNECT/CONNECTED), keeps the first of a repeated header, reads a body with NULs by content-length', () => {
    expect(escapeHeader('a:b\\c\nd')).toBe('a\\cb\\\\c\\nd');
    const parser = new FrameParser();
    expect(parser.push('MESSAGE\nx:a\\cb\\nc\nx:second\ncontent-length:3\n\na\0b\0')).toEqual([{ command: 'MESSAGE', headers: { x: 'a:b\nc', 'content-length': '3' }, body: 'a\0b' }]);
    expect(new FrameParser().push('CONNECT\nlogin:a\\c\n\n\0')[0]?.headers.login).toBe('a\\c');
    expect(() => new FrameParser().push('SEND\nno colon\n\n\0')).toThrow(FrameError);
    expect(() => new FrameParser().push('SEND\ncontent-length:x\n\n\0')).toThrow(FrameError);
  });

  it('writes CONNECTED headers unescaped, every other frame escaped', () => {
    expect(serializeFrame('CONNECTED', { version: '1.2', server: 'broker:1' })).toBe('CONNECTED\nversion:1.2\nserver:broker:1\n\n\0');
    expect(serializeFrame('MESSAGE', { x: 'a:b' }, 'hi')).toBe('MESSAGE\nx:a\\cb\n\nhi\0');
  });

  it('waits for the NUL of a frame cut right after a content-length body that ends in a NUL, and reads it when it comes', () => {
    const parser = new FrameParser();
    expect(parser.push('MESSAGE\ncontent-length:2\n\na\0')).toEqual([]);
    expect(parser.push('\0')).toEqual([{ command: 'MESSAGE', headers: { 'content-length': '2' }, body: 'a\0' }]);
  });

  it('ends each head line at LF or CR LF, mixed in one frame, and finds the head by its empty line, not by a blank line in the body', () => {
    const parser = new FrameParser();
    expect(parser.push('MESSAGE\r\ndestination:/a\nmessage-id:7\r\nx:v\r\n\r\nbody\r\n\r\nmore\n\n\0SEND\nh:v\r\n\n\0')).toEqual([
      { command: 'MESSAGE', headers: { destination: '/a', 'message-id': '7', x: 'v' }, body: 'body\r\n\r\nmore\n\n' },
      { command: 'SEND', headers: { h: 'v' }, body: '' },
    ]);
    // A frame cut anywhere in its head waits for the rest; a bad one is refused whole, however it arrives.
    expect(parser.push('MESSAGE\r\ncontent-length:2\r')).toEqual([]);
    expect(parser.push('\n\r\nok\0')).toEqual([{ command: 'MESSAGE', headers: { 'content-length': '2' }, body: 'ok' }]);
    expect(() => new FrameParser().push('SEND\ncontent-length:1\n\nab\0')).toThrow(FrameError);
    expect(() => new FrameParser().push('SEND\n:novalue\n\n\0')).toThrow(FrameError);
    expect(() => new FrameParser().push('SEND\ncontent-length:\n\n\0')).toThrow(FrameError);
    // A header name written escaped is unescaped, even when it spells a common one once unescaped.
    expect(new FrameParser().push('MESSAGE\ncontent\\clength:9\n\nbody\0')[0]?.headers).toEqual({ 'content:length': '9' });
  });

  it('negotiates heart-beats as STOMP 1.2 says: the larger of offer and wish, 0 turns a direction off', () => {
    expect(parseHeartbeat(undefined)).toEqual([0, 0]);
    expect(parseHeartbeat('10000, 5000')).toEqual([10000, 5000]);
    expect(parseHeartbeat('ten')).toBeNull();
    // Two whole numbers and nothing else: anything before, between or after them is refused.
    for (const bad of ['x10,20', '10,20x', '10x,20', '10,x20']) expect(parseHeartbeat(bad), bad).toBeNull();
    expect(parseHeartbeat(' 10 , 20 ')).toEqual([10, 20]);
    expect(negotiateHeartbeat([10_000, 10_000], [4000, 20_000])).toEqual({ sendMs: 20_000, expectMs: 10_000 });
    expect(negotiateHeartbeat([10_000, 10_000], [0, 0])).toEqual({ sendMs: 0, expectMs: 0 });
    expect(negotiateHeartbeat([0, 0], [1000, 1000])).toEqual({ sendMs: 0, expectMs: 0 });
  });
});

/** A raw STOMP client on a WebSocket to the built-in server: frames in, frames out. */
async function stomp(url: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/stomp`);
  cleanup.add(() => socket.terminate());
  const parser = new FrameParser();
  const frames: Array<{ command: string; headers: Record<string, string>; body: string }> = [];
  let beats = 0;
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    const text = data.toString();
    if (/^[\r\n]+$/.test(text)) beats++;
    frames.push(...parser.push(text));
    for (const wake of waiters.splice(0)) wake();
  });
  await once(socket, 'open');
  const closed = once(socket, 'close');
  return {
    socket,
    frames,
    beats: () => beats,
    closed,
    send: (command: string, headers: Record<string, string> = {}, body = '') => socket.send(serializeFrame(command, headers, body)),
    until: (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${frames.length} frames: ${JSON.stringify(frames)}`)), 5000);
        const check = (): void => {
          if (frames.length >= count) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
  };
}

describe('the built-in /stomp endpoint (contract A)', () => {
  it('answers CONNECT with CONNECTED, version 1.2 and the heart-beat it offers', async () => {
    const client = await stomp(await cleanup.server());
    client.send('CONNECT', { 'accept-version': '1.2', host: 'x', 'heart-beat': '0,0' });
    await client.until(1);
    expect(client.frames[0]).toMatchObject({ command: 'CONNECTED', headers: { version: '1.2', 'heart-beat': '10000,10000' } });
  });

  it('replays from `since` after a gap sign, then sends live messages, each with its id as message-id', async () => {
    const url = await cleanup.server({ historyLimit: 2 });
    for (let i = 1; i <= 4; i++) await publish(url, 'room', `m${i}`);
    const client = await stomp(url);
    client.send('CONNECT', { 'accept-version': '1.2' });
    client.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/chat-rooms/room/messages', since: '1', receipt: 'r' });
    await client.until(5);
    await publish(url, 'room', 'live');
    await client.until(6);
    const [connected, gap, m3, m4, receipt, live] = client.frames;
    expect(connected?.command).toBe('CONNECTED');
    expect(gap).toMatchObject({ command: 'MESSAGE', headers: { subscription: 'sub-0' } });
    expect(JSON.parse(gap!.body)).toEqual({ type: 'gap', from: 2, to: 2 });
    expect([m3, m4].map((f) => [f?.headers['message-id'], JSON.parse(f!.body).content])).toEqual([['3', 'm3'], ['4', 'm4']]);
    expect(receipt).toMatchObject({ command: 'RECEIPT', headers: { 'receipt-id': 'r' } });
    expect(live).toMatchObject({ command: 'MESSAGE', headers: { 'message-id': '5', destination: '/topic/chat-rooms/room/messages' } });
  });

  it.each([
    ['SEND (publishing stays POST /messages)', 'SEND', { destination: '/topic/chat-rooms/r/messages' }, 'SEND is not a way to publish here'],
    ['an unknown destination', 'SUBSCRIBE', { id: '1', destination: '/queue/x' }, 'unknown destination'],
    ['a SUBSCRIBE without id', 'SUBSCRIBE', { destination: '/topic/chat-rooms/r/messages' }, 'SUBSCRIBE needs an id header'],
    ['a bad since', 'SUBSCRIBE', { id: '1', destination: '/topic/chat-rooms/r/messages', since: '-1' }, 'since must be a non-negative integer message id'],
  ])('answers %s with ERROR, then closes', async (_what, command, headers, message) => {
    const client = await stomp(await cleanup.server());
    client.send('CONNECT', { 'accept-version': '1.2' });
    client.send(command, headers);
    await client.until(2);
    expect(client.frames[1]).toMatchObject({ command: 'ERROR', headers: { message } });
    await client.closed;
  });

  it('wants CONNECT first and STOMP 1.2', async () => {
    const early = await stomp(await cleanup.server());
    early.send('SUBSCRIBE', { id: '1', destination: '/topic/chat-rooms/r/messages' });
    await early.until(1);
    expect(early.frames[0]).toMatchObject({ command: 'ERROR', headers: { message: 'expected CONNECT first' } });
    const old = await stomp(await cleanup.server());
    old.send('CONNECT', { 'accept-version': '1.0,1.1' });
    await old.until(1);
    expect(old.frames[0]).toMatchObject({ command: 'ERROR', headers: { message: 'unsupported STOMP version' } });
  });

  it('sends heart-beats when asked, and closes a connection that promised them and fell silent for 3 intervals', async () => {
    const url = await cleanup.server({ stompHeartbeatMs: 100 });
    const listener = await stomp(url);
    listener.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,100' });
    const started = Date.now();
    while (listener.beats() < 3 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listener.beats()).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(1500);
    const silent = await stomp(url);
    silent.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': '100,0' });
    const silentSince = Date.now();
    await silent.closed;
    expect(Date.now() - silentSince).toBeGreaterThanOrEqual(300);
    expect(Date.now() - silentSince).toBeLessThan(2000);
    // The first one promised nothing and is still open.
    expect(listener.socket.readyState).toBe(WebSocket.OPEN);
  });
});
