import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { type Bus, type Gap, type Published, deliverOnce, framed } from './bus.js';
import { FrameError, FrameParser, type StompFrame, negotiateHeartbeat, parseHeartbeat, serializeFrame } from '../core/stomp-frames.js';

export interface StompPluginOptions {
  readonly bus: Bus;
  /** Heart-beat the server offers both ways (ms); 0 offers none. */
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
}

const OPEN = 1;
const DESTINATION = /^\/topic\/chat-rooms\/([^/]+)\/messages$/;
/** A connection silent for more than this many negotiated intervals is closed (contract A). */
const SILENT_INTERVALS = 3;
/** Frames are cached per subscription id; clients mostly use the same few ids (`sub-0`). */
const CACHED_SUBSCRIPTION_IDS = 8;

function messageFrame(published: Published, subscription: string): string {
  const { message } = published;
  return serializeFrame(
    'MESSAGE',
    {
      destination: `/topic/chat-rooms/${message.chatRoomId}/messages`,
      'message-id': message.id,
      subscription,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(published.json),
    },
    published.json,
  );
}

function gapFrame(gap: Gap, destination: string, subscription: string): string {
  const body = JSON.stringify({ type: 'gap', from: gap.from, to: gap.to });
  return serializeFrame('MESSAGE', { destination, 'message-id': `gap-${gap.from}-${gap.to}`, subscription, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body);
}

/** The bytes of one message for one subscription id, shared by every socket that uses that id. */
function frameFor(published: Published, subscription: string): Buffer {
  const key = `stomp:${subscription}`;
  if (published.frames.has(key) || published.frames.size < CACHED_SUBSCRIPTION_IDS) return framed(published, key, (p) => messageFrame(p, subscription));
  return Buffer.from(messageFrame(published, subscription));
}

/**
 * `/stomp`: STOMP 1.2 over WebSocket on the same room bus (contract A's STOMP part). `SUBSCRIBE` to
 * `/topic/chat-rooms/{R}/messages` with an optional `since` header replays kept messages, then sends
 * live ones, each a `MESSAGE` whose `message-id` is the message id. Publishing stays `POST /messages`:
 * `SEND`, like any bad frame, gets an `ERROR` and the connection is closed.
 */
export const stompPlugin: FastifyPluginAsync<StompPluginOptions> = async (app, { bus, heartbeatMs, maxBufferedBytes }) => {
  app.get('/stomp', { websocket: true }, (socket: WebSocket) => {
    const parser = new FrameParser();
    const subscriptions = new Map<string, () => void>();
    const timers: NodeJS.Timeout[] = [];
    let connected = false;
    let lastHeardMs = Date.now();

    const write = (bytes: Buffer | string): void => {
      if (socket.readyState !== OPEN) return;
      if (socket.bufferedAmount > maxBufferedBytes) {
        socket.terminate();
        return;
      }
      socket.send(bytes, { binary: false, compress: false });
    };
    const fail = (message: string, detail = ''): void => {
      write(serializeFrame('ERROR', { message, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(detail) }, detail));
      socket.close(1002, message.slice(0, 100));
    };
    const receipt = (frame: StompFrame): void => {
      const id = frame.headers.receipt;
      if (id !== undefined) write(serializeFrame('RECEIPT', { 'receipt-id': id }));
    };

    const onConnect = (frame: StompFrame): void => {
      const versions = (frame.headers['accept-version'] ?? '1.0').split(',');
      if (!versions.includes('1.2')) return fail('unsupported STOMP version', 'this server speaks STOMP 1.2');
      const client = parseHeartbeat(frame.headers['heart-beat']);
      if (!client) return fail('malformed heart-beat header');
      const { sendMs, expectMs } = negotiateHeartbeat([heartbeatMs, heartbeatMs], client);
      connected = true;
      write(serializeFrame('CONNECTED', { version: '1.2', 'heart-beat': `${heartbeatMs},${heartbeatMs}`, server: 'rtbench-reference' }));
      if (sendMs > 0) timers.push(setInterval(() => write('\n'), sendMs));
      if (expectMs > 0) {
        timers.push(
          setInterval(() => {
            if (Date.now() - lastHeardMs > SILENT_INTERVALS * expectMs) socket.terminate();
          }, expectMs),
        );
      }
    };

    const onSubscribe = (frame: StompFrame): void => {
      const { destination = '', id } = frame.headers;
      const room = DESTINATION.exec(destination)?.[1];
      if (id === undefined || id === '') return fail('SUBSCRIBE needs an id header');
      if (room === undefined) return fail('unknown destination', `subscribe to /topic/chat-rooms/{chatRoomId}/messages, not ${destination}`);
      const sinceText = frame.headers.since;
      if (sinceText !== undefined && !/^\d{1,15}$/.test(sinceText)) return fail('since must be a non-negative integer message id');
      const chatRoomId = decodeURIComponent(room);
      subscriptions.get(id)?.();
      const send = deliverOnce((published: Published) => write(frameFor(published, id)));
      subscriptions.set(
        id,
        bus.follow(chatRoomId, sinceText === undefined ? null : Number(sinceText), {
          replay: (replay) => {
            if (replay.gap) write(gapFrame(replay.gap, destination, id));
            for (const published of replay.messages) send(published);
          },
          live: send,
          fail: (code) => fail(code, 'the message bus is unavailable; reconnect and resume'),
        }),
      );
      receipt(frame);
    };

    const onFrame = (frame: StompFrame): void => {
      if (!connected) {
        if (frame.command === 'CONNECT' || frame.command === 'STOMP') return onConnect(frame);
        return fail('expected CONNECT first');
      }
      switch (frame.command) {
        case 'SUBSCRIBE':
          return onSubscribe(frame);
        case 'UNSUBSCRIBE':
          subscriptions.get(frame.headers.id ?? '')?.();
          subscriptions.delete(frame.headers.id ?? '');
          return receipt(frame);
        case 'DISCONNECT':
          receipt(frame);
          socket.close(1000);
          return;
        case 'SEND':
          return fail('SEND is not a way to publish here', 'publish with POST /messages');
        default:
          return fail(`unsupported frame ${frame.command}`);
      }
    };

    socket.on('message', (data, isBinary) => {
      lastHeardMs = Date.now();
      try {
        for (const frame of parser.push(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString())) onFrame(frame);
      } catch (error) {
        fail(error instanceof FrameError ? error.message : 'bad frame');
      }
    });
    socket.on('close', () => {
      for (const timer of timers) clearInterval(timer);
      for (const unsubscribe of subscriptions.values()) unsubscribe();
      subscriptions.clear();
    });
    socket.on('error', () => socket.terminate());
  });
};
