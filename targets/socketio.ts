import { request } from 'undici';
import { nowUs } from '../core/clock.js';
import { type Delivery, NOTHING, type SendText } from '../clients/types.js';
import { type WebSocketConnection, openWebSocket } from '../clients/ws-connection.js';
import { endpoint, runRoomName, webSocketUrl } from './http.js';
import type { PublishChannel, PublishOutcome, TargetContext, TargetProfile } from './types.js';

/**
 * A Socket.IO 4 server (engine.io protocol 4) over its WebSocket transport, spoken by rtbench's own
 * WebSocket client. The contract it measures by default: a client emits `join` with the room name;
 * the server broadcasts the event `message` with `{ room, content, ... }` to the room; a publisher
 * emits `message` with `(room, content)` and an acknowledgement, whose arrival ends the publish
 * round trip. Socket.IO keeps no history: nothing resumes.
 *
 * On the wire (text frames): `0{...}` engine.io open, answered by `40` (connect to the default
 * namespace); `40{...}` connected, answered by `42["join",room]`; `2` ping, answered by `3`;
 * `42["message",{...}]` an event; `42<id>[...]` an event asking for an acknowledgement, `43<id>[...]`
 * the acknowledgement; `44{...}` a refused connect.
 */
interface Provisioned {
  readonly rooms: readonly string[];
}

const PATH = '/socket.io/';
const JOIN_EVENT = 'join';
const MESSAGE_EVENT = 'message';

function socketUrl(base: string): string {
  return webSocketUrl(endpoint(base, PATH, { EIO: 4, transport: 'websocket' }));
}

/** An event packet's payload (`42` or `42<ack id>` then a JSON array), or null when it is not one. */
function eventOf(text: string): { readonly ackId: number | null; readonly args: unknown[] } | null {
  if (!text.startsWith('42')) return null;
  let at = 2;
  while (at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) at++;
  try {
    const args: unknown = JSON.parse(text.slice(at));
    return Array.isArray(args) ? { ackId: at > 2 ? Number(text.slice(2, at)) : null, args } : null;
  } catch {
    return null;
  }
}

/** What the engine.io and Socket.IO protocols ask of every connection; true when `text` was one of them. */
function answerProtocol(text: string, send: SendText, onConnected: () => void): boolean {
  if (text === '2') send('3');
  else if (text.startsWith('0')) send('40');
  else if (text.startsWith('40')) onConnected();
  else return false;
  return true;
}

/** A subscriber's frame: protocol frames answered, `message` events read, anything else counted. */
function readFrame(text: string, send: SendText, room: string): Delivery {
  if (answerProtocol(text, send, () => send(`42${JSON.stringify([JOIN_EVENT, room])}`))) return NOTHING;
  if (text.startsWith('44')) return { messages: [], error: 'SOCKETIO_CONNECT_ERROR' };
  if (text.startsWith('43') || text === '6') return NOTHING;
  const event = eventOf(text);
  if (!event) return { messages: [], error: 'SOCKETIO_BAD_FRAME' };
  if (event.args[0] !== MESSAGE_EVENT) return NOTHING;
  const payload = event.args[1] as { content?: unknown } | null;
  return typeof payload?.content === 'string' ? { messages: [{ content: payload.content }] } : { messages: [], error: 'SOCKETIO_BAD_MESSAGE' };
}

/**
 * Publishes by emitting `message` with an acknowledgement over Socket.IO connections of its own
 * (opened on first use, publishes dealt round robin): the acknowledgement ends the round trip.
 */
function socketioPublisher(target: TargetContext, rooms: readonly string[]): PublishChannel {
  interface Link {
    readonly socket: WebSocketConnection;
    readonly ready: Promise<void>;
    up: boolean;
  }
  const waiting = new Map<number, (errorCode: string | null) => void>();
  let nextAck = 0;
  let links: Link[] | null = null;
  let next = 0;
  const connect = (): Link => {
    let settle: (error: Error | null) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    const link: Link = {
      up: false,
      ready,
      socket: openWebSocket(
        { url: socketUrl(target.directUrl), headers: target.headers, handshakeTimeoutMs: target.connectTimeoutMs },
        {
          open: () => {},
          text: (text) => {
            const send = (reply: string): void => void link.socket.send(reply);
            if (answerProtocol(text, send, () => ((link.up = true), settle(null)))) return;
            if (text.startsWith('44')) return settle(Object.assign(new Error('Socket.IO refused the connection'), { code: 'SOCKETIO_CONNECT_ERROR' }));
            const ack = /^43(\d+)/.exec(text);
            if (ack) waiting.get(Number(ack[1]))?.(null);
          },
          closed: (code) => {
            link.up = false;
            settle(Object.assign(new Error(`closed before connecting (${code})`), { code }));
          },
        },
      ),
    };
    return link;
  };
  return {
    async publish(room, content): Promise<PublishOutcome> {
      const startUs = nowUs();
      links ??= Array.from({ length: Math.max(1, Math.min(4, target.publishConnections)) }, connect);
      const link = links[next++ % links.length] as Link;
      try {
        await link.ready;
      } catch (error) {
        return { rttUs: nowUs() - startUs, errorCode: (error as { code?: string }).code ?? 'SOCKETIO_CONNECT_ERROR' };
      }
      if (!link.up) return { rttUs: nowUs() - startUs, errorCode: 'SOCKETIO_DISCONNECTED' };
      const ackId = nextAck++;
      return new Promise<PublishOutcome>((resolve) => {
        const done = (errorCode: string | null): void => {
          clearTimeout(timer);
          waiting.delete(ackId);
          resolve({ rttUs: nowUs() - startUs, errorCode });
        };
        const timer = setTimeout(() => done('PUBLISH_TIMEOUT'), target.publishTimeoutMs);
        waiting.set(ackId, done);
        if (!link.socket.send(`42${ackId}${JSON.stringify([MESSAGE_EVENT, rooms[room], content])}`)) done('SOCKETIO_DISCONNECTED');
      });
    },
    async close() {
      for (const link of links ?? []) link.socket.close();
      links = null;
    },
  };
}

export const socketioProfile: TargetProfile<Provisioned> = {
  name: 'socketio',
  summary: 'a Socket.IO 4 server: join a room with `join`, messages as `message` events {room, content}, published with an acknowledged `message` emit',
  transports: ['ws'],
  resume: {},

  async health(target) {
    // The engine.io handshake over polling: a Socket.IO server answers it with its open packet.
    const response = await request(endpoint(target.directUrl, PATH, { EIO: 4, transport: 'polling' }), { headers: { ...target.headers }, signal: AbortSignal.timeout(target.connectTimeoutMs) });
    const body = await response.body.text();
    if (response.statusCode !== 200 || !body.includes('"sid"')) {
      throw Object.assign(new Error(`GET ${PATH}?EIO=4&transport=polling answered ${response.statusCode}: not a Socket.IO 4 server`), { code: `HTTP_${response.statusCode}` });
    }
  },

  async provision(target, need) {
    return { rooms: Array.from({ length: need.rooms }, (_, room) => runRoomName(target, need.tag, room)) };
  },

  publisher: (target, provisioned) => socketioPublisher(target, provisioned.rooms),

  subscription(target, provisioned, subscriber) {
    const room = provisioned.rooms[subscriber.room] ?? '';
    return {
      transport: 'ws',
      url: () => socketUrl(target.url),
      headers: target.headers,
      read: (text, _cursor, send) => readFrame(text, send, room),
    };
  },
};
