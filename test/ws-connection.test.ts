import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { FrameReader, type FrameSink, clientFrame } from '../clients/ws-frames.js';
import { acceptKey, checkUpgrade, openWebSocket, type WebSocketConnection } from '../clients/ws-connection.js';
import { waitFor } from './helpers.js';

/** A server frame (unmasked unless `mask`), as a server writes it. */
function serverFrame(opcode: number, payload: Buffer, options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended);
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  head[1] = (options.mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) head.writeUInt16BE(length, 2);
  if (extended === 8) head.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([head, options.mask ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

/** Records what a reader reports. */
function recordingSink() {
  const seen: string[] = [];
  const sink: FrameSink = {
    text: (text) => seen.push(`text:${text}`),
    binary: () => seen.push('binary'),
    ping: (payload) => seen.push(`ping:${payload.toString()}`),
    close: (code, reason) => seen.push(`close:${code}:${reason}`),
    fail: (closeCode, code) => seen.push(`fail:${closeCode}:${code}`),
  };
  return { seen, sink };
}

/** Feeds `bytes` in pieces of `size`, each through a scratch buffer that is overwritten afterwards (as the socket's shared buffer is). */
function feedInPieces(reader: FrameReader, bytes: Buffer, size: number): void {
  const scratch = Buffer.alloc(size + 3);
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size);
    piece.copy(scratch, 3);
    reader.feed(scratch, 3, 3 + piece.length);
    scratch.fill(0xee);
  }
}

describe('FrameReader', () => {
  const stream = Buffer.concat([
    serverFrame(1, Buffer.from('hello')),
    serverFrame(9, Buffer.from('are you there')),
    serverFrame(1, Buffer.from('x'.repeat(300))),
    serverFrame(1, Buffer.from('é'.repeat(40_000))),
    serverFrame(1, Buffer.from('frag-'), { fin: false }),
    serverFrame(10, Buffer.from('pong in between')),
    serverFrame(0, Buffer.from('mented'), { fin: false }),
    serverFrame(0, Buffer.from(' message')),
    serverFrame(2, Buffer.from([1, 2, 3])),
    serverFrame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])),
  ]);
  const expected = ['text:hello', 'ping:are you there', `text:${'x'.repeat(300)}`, `text:${'é'.repeat(40_000)}`, 'text:frag-mented message', 'binary', 'close:1000:bye'];

  it('reads the same messages whatever the reads are cut into (whole, 64 KiB, 1 000, 7, 1 byte)', () => {
    for (const size of [stream.length, 65_536, 1000, 7, 1]) {
      const { seen, sink } = recordingSink();
      feedInPieces(new FrameReader(sink), stream, size);
      expect(seen, `pieces of ${size}`).toEqual(expected);
    }
  });

  it('fails the connection on what a browser refuses', () => {
    const cases: Array<[Buffer, string]> = [
      [serverFrame(1, Buffer.from('hi'), { mask: true }), 'fail:1002:WS_ERR_UNEXPECTED_MASK'],
      [serverFrame(1, Buffer.from('hi'), { rsv: 4 }), 'fail:1002:WS_ERR_UNEXPECTED_RSV'],
      [serverFrame(1, Buffer.from([0xc3, 0x28])), 'fail:1007:WS_ERR_INVALID_UTF8'],
      [serverFrame(9, Buffer.from('ping'), { fin: false }), 'fail:1002:WS_ERR_INVALID_CONTROL_FRAME'],
      [serverFrame(9, Buffer.alloc(126)), 'fail:1002:WS_ERR_INVALID_CONTROL_FRAME'],
      [serverFrame(0, Buffer.from('orphan')), 'fail:1002:WS_ERR_UNEXPECTED_CONTINUATION'],
      [Buffer.concat([serverFrame(1, Buffer.from('a'), { fin: false }), serverFrame(1, Buffer.from('b'))]), 'fail:1002:WS_ERR_EXPECTED_CONTINUATION'],
      [serverFrame(5, Buffer.from('?')), 'fail:1002:WS_ERR_INVALID_OPCODE'],
      [serverFrame(8, Buffer.from([0x03])), 'fail:1002:WS_ERR_INVALID_CLOSE_FRAME'],
      [serverFrame(8, Buffer.from([0x03, 0xed])), 'fail:1002:WS_ERR_INVALID_CLOSE_CODE'],
      [Buffer.from([0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0]), 'fail:1009:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
    ];
    for (const [bytes, outcome] of cases) {
      const { seen, sink } = recordingSink();
      const reader = new FrameReader(sink);
      reader.feed(bytes, 0, bytes.length);
      // Nothing after a failure is read.
      reader.feed(serverFrame(1, Buffer.from('after')), 0, 7);
      expect(seen, outcome).toEqual([outcome]);
    }
  });

  it('reads a U+FFFD the server really sent, and fails on one that stands for invalid bytes', () => {
    const { seen, sink } = recordingSink();
    const reader = new FrameReader(sink);
    const frames = Buffer.concat([serverFrame(1, Buffer.from('ok \uFFFD ok')), serverFrame(1, Buffer.from([0x61, 0xef, 0xbf, 0xbd, 0xff]))]);
    reader.feed(frames, 0, frames.length);
    expect(seen).toEqual(['text:ok \uFFFD ok', 'fail:1007:WS_ERR_INVALID_UTF8']);
  });

  it('reads a close frame without a code as 1005', () => {
    const { seen, sink } = recordingSink();
    new FrameReader(sink).feed(serverFrame(8, Buffer.alloc(0)), 0, 2);
    expect(seen).toEqual(['close:1005:']);
  });

  it('writes masked client frames a server can unmask', () => {
    for (const payload of [Buffer.from('short'), Buffer.from('m'.repeat(200)), Buffer.from('l'.repeat(70_000))]) {
      const frame = clientFrame(1, payload);
      expect(frame[0]).toBe(0x81);
      expect(frame[1]! & 0x80).toBe(0x80);
      const length = frame[1]! & 0x7f;
      const maskAt = length === 126 ? 4 : length === 127 ? 10 : 2;
      const mask = frame.subarray(maskAt, maskAt + 4);
      const unmasked = Buffer.from(frame.subarray(maskAt + 4).map((byte, i) => byte ^ mask[i & 3]!));
      expect(unmasked.equals(payload)).toBe(true);
    }
  });
});

describe('checkUpgrade', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const good = () => new Map([['upgrade', 'websocket'], ['connection', 'Upgrade'], ['sec-websocket-accept', acceptKey(key)]]);

  it("computes RFC 6455's example accept key", () => {
    expect(acceptKey(key)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('accepts a valid answer and refuses a wrong accept key, extension or subprotocol', () => {
    expect(checkUpgrade(good(), key, [])).toEqual({ error: null, protocol: '' });
    expect(checkUpgrade(good().set('sec-websocket-accept', 'nope'), key, []).error).toBe('WS_BAD_ACCEPT');
    expect(checkUpgrade(good().set('upgrade', 'h2c'), key, []).error).toBe('WS_BAD_HANDSHAKE');
    expect(checkUpgrade(good().set('sec-websocket-extensions', 'permessage-deflate'), key, []).error).toBe('WS_BAD_EXTENSION');
    expect(checkUpgrade(good().set('sec-websocket-protocol', 'v10.stomp'), key, []).error).toBe('WS_BAD_PROTOCOL');
    expect(checkUpgrade(good(), key, ['v12.stomp']).error).toBe('WS_BAD_PROTOCOL');
    expect(checkUpgrade(good().set('sec-websocket-protocol', 'v12.stomp'), key, ['v10.stomp', 'v12.stomp'])).toEqual({ error: null, protocol: 'v12.stomp' });
  });
});

describe('openWebSocket against a real server', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  /** A `ws` server on 127.0.0.1:0 (the reference servers use the same package); `onConnection` drives it. */
  async function wsServer(onConnection: (socket: import('ws').WebSocket, request: http.IncomingMessage) => void, options: { handleProtocols?: (protocols: Set<string>) => string | false } = {}): Promise<string> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    server.on('connection', onConnection);
    await once(server, 'listening');
    closers.push(() => {
      for (const client of server.clients) client.terminate();
      server.close();
    });
    return `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/room?x=1`;
  }

  function connect(url: string, extra: Partial<Parameters<typeof openWebSocket>[0]> = {}) {
    const events = { opened: [] as string[], texts: [] as string[], binaries: 0, closed: [] as string[] };
    const connection: WebSocketConnection = openWebSocket(
      { url, handshakeTimeoutMs: 5000, ...extra },
      {
        open: (protocol) => events.opened.push(protocol),
        text: (text) => events.texts.push(text),
        binary: () => events.binaries++,
        closed: (code) => events.closed.push(code),
      },
    );
    closers.push(() => connection.terminate());
    return { events, connection };
  }

  it('sends the path, headers and subprotocols; receives text in order; answers pings; closes normally', async () => {
    let seenRequest: http.IncomingMessage | null = null;
    let pongs = 0;
    const received: string[] = [];
    const url = await wsServer(
      (socket, request) => {
        seenRequest = request;
        socket.on('pong', (data) => {
          if (data.toString() === 'p1') pongs++;
        });
        socket.on('message', (data) => received.push(data.toString()));
        socket.ping('p1');
        for (let i = 0; i < 500; i++) socket.send(`message ${i} ${'.'.repeat(i * 10)}`);
        socket.send(Buffer.from([1]), { binary: true });
      },
      { handleProtocols: (protocols) => (protocols.has('v12.stomp') ? 'v12.stomp' : false) },
    );
    const { events, connection } = connect(url, { headers: { authorization: 'Bearer t' }, protocols: ['v10.stomp', 'v12.stomp'] });
    await waitFor(() => events.texts.length === 500 && events.binaries === 1 && pongs === 1, 'all messages and the pong');
    expect(events.opened).toEqual(['v12.stomp']);
    expect(events.texts.every((text, i) => text === `message ${i} ${'.'.repeat(i * 10)}`)).toBe(true);
    expect(seenRequest!.url).toBe('/room?x=1');
    expect(seenRequest!.headers.authorization).toBe('Bearer t');
    connection.send('from the client');
    await waitFor(() => received.length === 1, 'the server reads a masked client frame');
    expect(received).toEqual(['from the client']);
    connection.close();
    await waitFor(() => events.closed.length === 1, 'the close handshake');
    expect(events.closed).toEqual(['WS_CLOSED']);
  });

  it('names how a connection ended: server close code, dropped socket, HTTP refusal, refused port, silent server', async () => {
    const closing = await wsServer((socket) => socket.close(4001, 'go away'));
    const byCode = connect(closing);
    await waitFor(() => byCode.events.closed.length > 0, 'close 4001');
    expect(byCode.events.closed).toEqual(['WS_CLOSE_4001']);

    const dropping = await wsServer((socket) => socket.terminate());
    const dropped = connect(dropping);
    await waitFor(() => dropped.events.closed.length > 0, 'dropped socket');
    expect(dropped.events).toMatchObject({ opened: [''], closed: ['WS_CLOSE_1006'] });

    const refusing = http.createServer((_request, response) => response.writeHead(401).end('no'));
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    closers.push(() => refusing.close());
    const port = (refusing.address() as net.AddressInfo).port;
    const unauthorized = connect(`ws://127.0.0.1:${port}/`);
    await waitFor(() => unauthorized.events.closed.length > 0, 'HTTP 401');
    expect(unauthorized.events).toMatchObject({ opened: [], closed: ['HTTP_401'] });

    refusing.close();
    await once(refusing, 'close');
    const refused = connect(`ws://127.0.0.1:${port}/`);
    await waitFor(() => refused.events.closed.length > 0, 'refused port');
    expect(refused.events.closed).toEqual(['ECONNREFUSED']);

    const silent = net.createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    closers.push(() => silent.close());
    const timedOut = connect(`ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, { handshakeTimeoutMs: 100 });
    await waitFor(() => timedOut.events.closed.length > 0, 'handshake timeout');
    expect(timedOut.events.closed).toEqual(['WS_HANDSHAKE_TIMEOUT']);
  });

  it('keeps messages that arrive in the same read as the handshake answer, and reads two sockets interleaved through one shared buffer', async () => {
    // A raw server that writes the 101 and two frames in one write, then one large frame in pieces.
    const raw = net.createServer((socket) => {
      socket.once('data', (request) => {
        const key = /sec-websocket-key: (.*)\r\n/i.exec(request.toString())![1]!;
        const big = Buffer.from('b'.repeat(200_000));
        socket.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`),
            serverFrame(1, Buffer.from('first')),
            serverFrame(1, Buffer.from('second')),
          ]),
        );
        const frame = serverFrame(1, big);
        let at = 0;
        const next = (): void => {
          if (at >= frame.length) return;
          socket.write(frame.subarray(at, at + 9000));
          at += 9000;
          setImmediate(next);
        };
        next();
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    closers.push(() => raw.close());
    const url = `ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/`;
    const a = connect(url);
    const b = connect(url);
    await waitFor(() => a.events.texts.length === 3 && b.events.texts.length === 3, 'both sockets read everything');
    for (const { events } of [a, b]) {
      expect(events.texts.slice(0, 2)).toEqual(['first', 'second']);
      expect(events.texts[2]).toBe('b'.repeat(200_000));
    }
  });
});
