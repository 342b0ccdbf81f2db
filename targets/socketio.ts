import { request } from 'undici';
import { nowUs } from '../core/clock.js';
import { type Delivery, type LongPollSpec, NOTHING, type SendText } from '../clients/types.js';
import { type WebSocketConnection, openWebSocket } from '../clients/ws-connection.js';
import { endpoint, runRoomName, webSocketUrl } from './http.js';
import { type PublishChannel, type PublishOutcome, type TargetContext, type TargetProfile, profileOption } from './types.js';

/**
 * A Socket.IO 4 server (engine.io protocol 4) over its WebSocket transport, spoken by rtbench's own
 * WebSocket client. The contract it measures by default: a client emits `join` with the room name;
 * the server broadcasts the event `message` with `{ room, content, ... }` to the room; a publisher
 * emits `message` with `(room, content)` and an acknowledgement, whose arrival ends the publish
 * round trip. Socket.IO keeps no history: nothing resumes. Every name (path, namespace, the join,
 * message and publish events, the payload's content field) can be changed with `--profile-opt`.
 *
 * On the wire (text frames): `0{...}` engine.io open, answered by `40` (connect to the default
 * namespace); `40{...}` connected, answered by `42["join",room]`; `2` ping, answered by `3`;
 * `42["message",{...}]` an event; `42<id>[...]` an event asking for an acknowledgement, `43<id>[...]`
 * the acknowledgement; `44{...}` a refused connect.
 */
interface Provisioned {
  readonly rooms: readonly string[];
}

const OPTIONS = {
  path: { description: "the server's Socket.IO path", defaultValue: '/socket.io/' },
  namespace: { description: 'the namespace to connect to', defaultValue: '/' },
  joinEvent: { description: 'the event a subscriber emits with its room name to join it', defaultValue: 'join' },
  messageEvent: { description: 'the event the server broadcasts to a room', defaultValue: 'message' },
  contentField: { description: "the field of that event's payload holding the content", defaultValue: 'content' },
  publishEvent: { description: 'the event a publisher emits with (room, content) and an acknowledgement', defaultValue: 'message' },
} as const;

/** This run's names: `--profile-opt` over the defaults. */
interface Names {
  readonly path: string;
  readonly namespace: string;
  readonly joinEvent: string;
  readonly messageEvent: string;
  readonly contentField: string;
  readonly publishEvent: string;
}

function namesOf(target: TargetContext): Names {
  const option = (key: keyof typeof OPTIONS): string => profileOption({ options: OPTIONS }, target, key);
  return { path: option('path'), namespace: option('namespace'), joinEvent: option('joinEvent'), messageEvent: option('messageEvent'), contentField: option('contentField'), publishEvent: option('publishEvent') };
}

function socketUrl(base: string, names: Names): string {
  return webSocketUrl(endpoint(base, names.path, { EIO: 4, transport: 'websocket' }));
}

/** A Socket.IO packet of `type` (two characters, e.g. `42`) in this namespace: its body, or null. */
function packetBody(text: string, type: string, names: Names): string | null {
  if (!text.startsWith(type)) return null;
  const rest = text.slice(type.length);
  if (names.namespace === '/') return rest.startsWith('/') ? null : rest;
  const prefix = `${names.namespace},`;
  return rest.startsWith(prefix) ? rest.slice(prefix.length) : rest === names.namespace ? '' : null;
}

/** A packet of `type` for this namespace, from its body. */
function packet(type: string, body: string, names: Names): string {
  return names.namespace === '/' ? `${type}${body}` : `${type}${names.namespace},${body}`;
}

/** An event packet's arguments (`42`, an optional ack id, then a JSON array), or null when it is not one. */
function eventOf(text: string, names: Names): unknown[] | null {
  const body = packetBody(text, '42', names);
  if (body === null) return null;
  let at = 0;
  while (at < body.length && body.charCodeAt(at) >= 48 && body.charCodeAt(at) <= 57) at++;
  try {
    const args: unknown = JSON.parse(body.slice(at));
    return Array.isArray(args) ? args : null;
  } catch {
    return null;
  }
}

/** What the engine.io and Socket.IO protocols ask of every connection; true when `text` was one of them. */
function answerProtocol(text: string, send: SendText, names: Names, onConnected: () => void): boolean {
  if (text === '2') send('3');
  else if (text.startsWith('0')) send(packet('40', '', names));
  else if (packetBody(text, '40', names) !== null) onConnected();
  else return false;
  return true;
}

/** A subscriber's frame: protocol frames answered, this namespace's message events read, anything else counted. */
function readFrame(text: string, send: SendText, room: string, names: Names): Delivery {
  if (answerProtocol(text, send, names, () => send(packet('42', JSON.stringify([names.joinEvent, room]), names)))) return NOTHING;
  if (text.startsWith('44')) return { messages: [], error: 'SOCKETIO_CONNECT_ERROR' };
  if (text.startsWith('43') || text === '6') return NOTHING;
  const args = eventOf(text, names);
  if (!args) return { messages: [], error: 'SOCKETIO_BAD_FRAME' };
  if (args[0] !== names.messageEvent) return NOTHING;
  const content = (args[1] as Record<string, unknown> | null)?.[names.contentField];
  return typeof content === 'string' ? { messages: [{ content }] } : { messages: [], error: 'SOCKETIO_BAD_MESSAGE' };
}

/** engine.io's separator of packets in one long-polling body (the record separator). */
const PACKET_SEPARATOR = '\x1e';

/** Waits past engine.io's own hold of a poll (its ping interval) before a poll counts as lost. */
const POLL_MARGIN_MS = 5_000;

/** What engine.io's open packet says: the session and how long the server holds a poll. */
function openPacket(body: string): { readonly sid: string; readonly holdMs: number } | null {
  if (!body.startsWith('0')) return null;
  try {
    const open = JSON.parse(body.slice(1)) as { sid?: unknown; pingInterval?: unknown; pingTimeout?: unknown };
    if (typeof open.sid !== 'string') return null;
    const holdMs = (typeof open.pingInterval === 'number' ? open.pingInterval : 25_000) + (typeof open.pingTimeout === 'number' ? open.pingTimeout : 20_000);
    return { sid: open.sid, holdMs };
  } catch {
    return null;
  }
}

/**
 * A subscriber over engine.io's long-polling transport: each connection opens a session (a GET
 * answered by the open packet), then polls with its id; a poll's body holds packets separated by
 * U+001E, each read as a WebSocket frame is. What the subscriber says (`40`, the join, `3` to a
 * ping) is POSTed on the session by rtbench's client, serialised, several packets in one body.
 */
function pollingSubscription(target: TargetContext, room: string, names: Names): LongPollSpec {
  let sid = '';
  let holdMs = 45_000;
  const url = (query: Record<string, string | number>): string => endpoint(target.url, names.path, { EIO: 4, transport: 'polling', ...query }).href;
  return {
    transport: 'long-polling',
    probe: null,
    get pollLimitMs() {
      return holdMs + POLL_MARGIN_MS;
    },
    async open(get, send) {
      const answer = await get({ url: url({}), headers: target.headers });
      const open = answer.status === 200 ? openPacket(answer.body) : null;
      if (!open) throw Object.assign(new Error(`engine.io handshake answered ${answer.status}`), { code: answer.status === 200 ? 'SOCKETIO_BAD_OPEN' : `SOCKETIO_HTTP_${answer.status}` });
      sid = open.sid;
      holdMs = open.holdMs;
      send(packet('40', '', names));
    },
    poll: () => ({ url: url({ sid }), headers: target.headers }),
    sendRequest: (texts) => ({ url: url({ sid }), headers: { ...target.headers, 'content-type': 'text/plain;charset=UTF-8' }, body: texts.join(PACKET_SEPARATOR) }),
    read(answer, _cursor, send) {
      // 400 is engine.io's "session ID unknown": the session is gone, so is this connection.
      if (answer.status !== 200) return { messages: [], error: `SOCKETIO_HTTP_${answer.status}`, ends: true };
      const messages: Array<{ content: string }> = [];
      let error: string | undefined;
      for (const text of answer.body.split(PACKET_SEPARATOR)) {
        if (text === '1') return { messages, error: 'SOCKETIO_CLOSED', ends: true };
        const delivery = readFrame(text, send, room, names);
        messages.push(...delivery.messages);
        error ??= delivery.error;
      }
      return error === undefined ? { messages } : { messages, error };
    },
  };
}

/**
 * Publishes by emitting `message` with an acknowledgement over Socket.IO connections of its own
 * (opened on first use, publishes dealt round robin): the acknowledgement ends the round trip.
 */
function socketioPublisher(target: TargetContext, rooms: readonly string[]): PublishChannel {
  const names = namesOf(target);
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
        { url: socketUrl(target.directUrl, names), headers: target.headers, handshakeTimeoutMs: target.connectTimeoutMs },
        {
          open: () => {},
          text: (text) => {
            const send = (reply: string): void => void link.socket.send(reply);
            if (answerProtocol(text, send, names, () => ((link.up = true), settle(null)))) return;
            if (text.startsWith('44')) return settle(Object.assign(new Error('Socket.IO refused the connection'), { code: 'SOCKETIO_CONNECT_ERROR' }));
            const ack = /^(\d+)/.exec(packetBody(text, '43', names) ?? '');
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
        if (!link.socket.send(packet('42', `${ackId}${JSON.stringify([names.publishEvent, rooms[room], content])}`, names))) done('SOCKETIO_DISCONNECTED');
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
  transports: ['ws', 'long-polling'],
  resume: {},
  options: OPTIONS,

  async health(target) {
    // The engine.io handshake over polling: a Socket.IO server answers it with its open packet.
    const { path } = namesOf(target);
    const response = await request(endpoint(target.directUrl, path, { EIO: 4, transport: 'polling' }), { headers: { ...target.headers }, signal: AbortSignal.timeout(target.connectTimeoutMs) });
    const body = await response.body.text();
    if (response.statusCode !== 200 || !body.includes('"sid"')) {
      throw Object.assign(new Error(`GET ${path}?EIO=4&transport=polling answered ${response.statusCode}: not a Socket.IO 4 server`), { code: `HTTP_${response.statusCode}` });
    }
  },

  async provision(target, need) {
    return { rooms: Array.from({ length: need.rooms }, (_, room) => runRoomName(target, need.tag, room)) };
  },

  publisher: (target, provisioned) => socketioPublisher(target, provisioned.rooms),

  subscription(target, provisioned, subscriber) {
    const room = provisioned.rooms[subscriber.room] ?? '';
    const names = namesOf(target);
    if (target.transport === 'long-polling') return pollingSubscription(target, room, names);
    return {
      transport: 'ws',
      url: () => socketUrl(target.url, names),
      headers: target.headers,
      read: (text, _cursor, send) => readFrame(text, send, room, names),
    };
  },
};
