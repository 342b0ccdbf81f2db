#!/usr/bin/env node
/**
 * The null server: the least a server can do per delivery while speaking contract A (docs/contract.md)
 * to rtbench's own clients, so that what limits a run against it is rtbench. It has no framework, no
 * bus and no validation beyond what the protocols need: a POST /messages builds each transport's
 * bytes for the message once (a WebSocket frame, an SSE event, a STOMP MESSAGE per subscription id,
 * a long-poll answer) and writes those same bytes to every subscriber of the room. `rtbench
 * throughput` runs against it to find the generator's own ceiling on this machine.
 *
 * It keeps the last HISTORY messages of each room for long polling's `since` (and WebSocket's and
 * SSE's resume), and, per publish, how long its writes to the room's subscribers took
 * (`GET /fan-outs`): the server's part of a fan-out's spread, to set a client's stamps against.
 *
 * Prints one JSON line `{"url", "pid"}` once listening; exits on SIGTERM/SIGINT and when its
 * standard input closes.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';

const HISTORY = 1024;
const FAN_OUTS_KEPT = 4096;
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Stored {
  readonly id: number;
  readonly json: string;
}

interface Poll {
  readonly socket: net.Socket;
  readonly timer: NodeJS.Timeout;
  readonly keepAlive: boolean;
}

class Room {
  seq = 0;
  readonly history: Stored[] = [];
  readonly ws = new Set<net.Socket>();
  readonly sse = new Set<net.Socket>();
  /** STOMP subscribers by the subscription id they chose (each id gets its own MESSAGE bytes). */
  readonly stomp = new Map<string, Set<net.Socket>>();
  readonly polls = new Set<Poll>();

  after(since: number): Stored[] {
    return this.history.filter((m) => m.id > since);
  }
}

const rooms = new Map<string, Room>();
const roomOf = (name: string): Room => {
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Room()));
  return room;
};
const fanOuts: Array<{ readonly atUs: number; readonly deliveries: number; readonly writeSpanUs: number }> = [];

/** A server-to-client WebSocket frame (unmasked, FIN) carrying `payload`. */
function wsFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extended + length);
  frame[0] = 0x80 | opcode;
  frame[1] = extended === 0 ? length : extended === 2 ? 126 : 127;
  if (extended === 2) frame.writeUInt16BE(length, 2);
  else if (extended === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  payload.copy(frame, 2 + extended);
  return frame;
}

const sseEvent = (type: string, data: string, id?: number): string => `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${data}\n\n`;
const stompMessage = (subscription: string, stored: Stored, destination: string): Buffer =>
  wsFrame(1, Buffer.from(`MESSAGE\ndestination:${destination}\nsubscription:${subscription}\nmessage-id:${stored.id}\ncontent-type:application/json\n\n${stored.json}\0`));

function answer(socket: net.Socket, status: number, body: string, keepAlive: boolean, type = 'application/json'): void {
  const bytes = Buffer.byteLength(body);
  socket.write(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : status === 201 ? 'Created' : 'Error'}\r\ncontent-type: ${type}\r\ncontent-length: ${bytes}\r\n${keepAlive ? '' : 'connection: close\r\n'}\r\n${body}`);
  if (!keepAlive) socket.end();
}

function publish(roomName: string, content: string): Stored {
  const room = roomOf(roomName);
  const stored: Stored = { id: ++room.seq, json: `{"id":${room.seq},"chatRoomId":${JSON.stringify(roomName)},"content":${JSON.stringify(content)}}` };
  room.history.push(stored);
  if (room.history.length > HISTORY) room.history.shift();
  const startUs = nowUs();
  let deliveries = 0;
  if (room.ws.size > 0) {
    const frame = wsFrame(1, Buffer.from(stored.json));
    for (const socket of room.ws) socket.write(frame);
    deliveries += room.ws.size;
  }
  if (room.sse.size > 0) {
    const event = Buffer.from(sseEvent('message', stored.json, stored.id));
    for (const socket of room.sse) socket.write(event);
    deliveries += room.sse.size;
  }
  for (const [subscription, sockets] of room.stomp) {
    const frame = stompMessage(subscription, stored, `/topic/chat-rooms/${roomName}/messages`);
    for (const socket of sockets) socket.write(frame);
    deliveries += sockets.size;
  }
  if (room.polls.size > 0) {
    const body = `[${stored.json}]`;
    const polls = [...room.polls];
    room.polls.clear();
    for (const poll of polls) {
      clearTimeout(poll.timer);
      answer(poll.socket, 200, body, poll.keepAlive);
    }
    deliveries += polls.length;
  }
  fanOuts.push({ atUs: startUs, deliveries, writeSpanUs: nowUs() - startUs });
  if (fanOuts.length > FAN_OUTS_KEPT) fanOuts.shift();
  return stored;
}

interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Map<string, string>;
  readonly body: string;
}

const ROOM_PATHS: Readonly<Record<string, RegExp>> = {
  ws: /^\/ws\/chat-rooms\/([^/]+)\/messages$/,
  sse: /^\/sse\/chat-rooms\/([^/]+)\/messages$/,
  'long-polling': /^\/long-polling\/chat-rooms\/([^/]+)\/messages$/,
};

/** `/ws/chat-rooms/{R}/messages` and its siblings: the room, decoded. */
function roomPath(path: string, kind: 'ws' | 'sse' | 'long-polling'): string | null {
  const match = (ROOM_PATHS[kind] as RegExp).exec(path);
  return match ? decodeURIComponent(match[1] as string) : null;
}

function handle(socket: net.Socket, request: Request, state: { upgraded: boolean }): void {
  const keepAlive = (request.headers.get('connection') ?? '').toLowerCase() !== 'close';
  const since = Number(request.query.get('since') ?? request.headers.get('last-event-id') ?? 0) || 0;
  if (request.method === 'GET' && request.path === '/health') return answer(socket, 200, '{"status":"ok"}', keepAlive);
  if (request.method === 'GET' && request.path === '/fan-outs') return answer(socket, 200, JSON.stringify(fanOuts), keepAlive);
  if (request.method === 'POST' && request.path === '/messages') {
    let body: { chatRoomId?: unknown; content?: unknown };
    try {
      body = JSON.parse(request.body) as typeof body;
    } catch {
      return answer(socket, 400, '{"code":"INVALID_JSON"}', keepAlive);
    }
    if (typeof body.chatRoomId !== 'string' || typeof body.content !== 'string') return answer(socket, 400, '{"code":"INVALID_FIELD"}', keepAlive);
    return answer(socket, 201, publish(body.chatRoomId, body.content).json, keepAlive);
  }
  const sseRoom = request.method === 'GET' ? roomPath(request.path, 'sse') : null;
  if (sseRoom !== null) {
    state.upgraded = true;
    const room = roomOf(sseRoom);
    let head = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n';
    head += sseEvent('connected', '{}');
    for (const stored of room.after(since)) head += sseEvent('message', stored.json, stored.id);
    socket.write(head);
    room.sse.add(socket);
    socket.once('close', () => room.sse.delete(socket));
    return;
  }
  const pollRoom = request.method === 'GET' ? roomPath(request.path, 'long-polling') : null;
  if (pollRoom !== null) {
    const room = roomOf(pollRoom);
    const waiting = request.query.has('since') ? room.after(since) : [];
    const timeoutMs = Number(request.query.get('timeout') ?? 30_000);
    if (waiting.length > 0 || timeoutMs <= 0) return answer(socket, 200, `[${waiting.map((m) => m.json).join(',')}]`, keepAlive);
    const poll: Poll = {
      socket,
      keepAlive,
      timer: setTimeout(() => {
        room.polls.delete(poll);
        answer(socket, 200, '[]', keepAlive);
      }, timeoutMs),
    };
    room.polls.add(poll);
    socket.once('close', () => {
      clearTimeout(poll.timer);
      room.polls.delete(poll);
    });
    return;
  }
  const wsRoom = roomPath(request.path, 'ws');
  if ((wsRoom !== null || request.path === '/stomp') && (request.headers.get('upgrade') ?? '').toLowerCase() === 'websocket') {
    state.upgraded = true;
    const key = request.headers.get('sec-websocket-key') ?? '';
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n${offered.length > 0 ? `sec-websocket-protocol: ${offered[0]}\r\n` : ''}\r\n`);
    if (wsRoom !== null) {
      const room = roomOf(wsRoom);
      for (const stored of room.after(since)) socket.write(wsFrame(1, Buffer.from(stored.json)));
      room.ws.add(socket);
      socket.once('close', () => room.ws.delete(socket));
    }
    return;
  }
  answer(socket, 404, '{"code":"NOT_FOUND"}', keepAlive);
}

/** Decodes a client's masked frames; hands each text message (STOMP frames) to `onText`. */
function clientFrames(socket: net.Socket, onText: (text: string) => void): (data: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (data) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    for (;;) {
      if (pending.length < 2) return;
      const opcode = (pending[0] as number) & 0x0f;
      let length = (pending[1] as number) & 0x7f;
      let at = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        length = Number(pending.readBigUInt64BE(2));
        at = 10;
      }
      if (length > MAX_BODY_BYTES) return void socket.destroy();
      if (pending.length < at + 4 + length) return;
      const mask = pending.subarray(at, at + 4);
      const payload = Buffer.from(pending.subarray(at + 4, at + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
      pending = pending.subarray(at + 4 + length);
      if (opcode === 8) {
        socket.end(wsFrame(8, payload.subarray(0, 2)));
        return;
      }
      if (opcode === 9) socket.write(wsFrame(10, payload));
      else if (opcode === 1 || opcode === 2) onText(payload.toString('utf8'));
    }
  };
}

/** A STOMP session on an upgraded socket: CONNECTED, then SUBSCRIBE joins the room's subscribers under the client's id. */
function stompSession(socket: net.Socket): (text: string) => void {
  return (text) => {
    for (const frame of text.split('\0')) {
      const lines = frame.replace(/^[\r\n]+/, '').split('\n');
      const command = lines[0] ?? '';
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        if (line === '') break;
        const colon = line.indexOf(':');
        if (colon > 0 && !headers.has(line.slice(0, colon))) headers.set(line.slice(0, colon), line.slice(colon + 1));
      }
      if (command === 'CONNECT' || command === 'STOMP') socket.write(wsFrame(1, Buffer.from('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0')));
      else if (command === 'SUBSCRIBE') {
        const roomName = /^\/topic\/chat-rooms\/([^/]+)\/messages$/.exec(headers.get('destination') ?? '')?.[1];
        if (roomName === undefined) continue;
        const room = roomOf(decodeURIComponent(roomName));
        const id = headers.get('id') ?? '0';
        const since = Number(headers.get('since') ?? 0) || 0;
        for (const stored of room.after(since)) socket.write(stompMessage(id, stored, `/topic/chat-rooms/${roomName}/messages`));
        let sockets = room.stomp.get(id);
        if (!sockets) room.stomp.set(id, (sockets = new Set()));
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      }
    }
  };
}

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let buffered: Buffer = Buffer.alloc(0);
  const state = { upgraded: false };
  let frames: ((data: Buffer) => void) | null = null;
  socket.on('data', (data: Buffer) => {
    if (frames) return frames(data);
    buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data]);
    while (!state.upgraded) {
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (buffered.length > MAX_HEAD_BYTES) socket.destroy();
        return;
      }
      const lines = buffered.toString('latin1', 0, headEnd).split('\r\n');
      const [method = '', target = '/'] = (lines[0] ?? '').split(' ');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get('content-length') ?? 0);
      if (!Number.isInteger(length) || length < 0 || length > MAX_BODY_BYTES) return void socket.destroy();
      if (buffered.length < headEnd + 4 + length) return;
      const body = buffered.toString('utf8', headEnd + 4, headEnd + 4 + length);
      buffered = buffered.subarray(headEnd + 4 + length);
      const question = target.indexOf('?');
      const path = question < 0 ? target : target.slice(0, question);
      handle(socket, { method, path, query: new URLSearchParams(question < 0 ? '' : target.slice(question + 1)), headers, body }, state);
      if (state.upgraded && path === '/stomp') {
        frames = clientFrames(socket, stompSession(socket));
        if (buffered.length > 0) frames(buffered);
      } else if (state.upgraded && path.startsWith('/ws/')) {
        frames = clientFrames(socket, () => {});
        if (buffered.length > 0) frames(buffered);
      }
    }
  });
}

const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, 'exit-on-stdin-end': { type: 'boolean', default: false } } });
const server = net.createServer(serve);
const stop = (): void => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (values['exit-on-stdin-end']) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
server.listen({ host: String(values.host), port: Number(values.port), backlog: 4096 }, () => {
  const { address, port } = server.address() as net.AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://${address}:${port}`, pid: process.pid })}\n`);
});
