// A profile whose WebSocket subscription talks back: a chat API like contract A whose sockets must
// subscribe first ({"type":"subscribe"}), and which sends {"type":"ping"} every few seconds and
// closes a socket that does not answer {"type":"pong"} in time.
//   rtbench soak --profile ./docs/examples/ping-pong-profile.ts --target http://127.0.0.1:8080 --transport ws
// What the subscription sends goes over its own connection, inside rtbench's client: --delay, the
// faults and the timestamps apply to it as to what it reads. test/two-way.test.ts runs this file
// against test/fixtures/plain-contract-a-server.mjs --app-ping-ms --subscribe-first.
import type { TargetProfile } from '../../targets/types.js';

interface Provisioned {
  readonly rooms: string[];
}

const url = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

const profile: TargetProfile<Provisioned> = {
  name: 'ping-pong',
  summary: 'contract A with a two-way WebSocket: subscribe first, answer the application ping',
  transports: ['ws'],
  resume: { ws: 'cursor' },

  async health(target) {
    const response = await fetch(url(target.directUrl, '/health'), { signal: AbortSignal.timeout(target.connectTimeoutMs) });
    if (response.status !== 200) throw new Error(`GET /health answered ${response.status}`);
  },

  async provision(target, need) {
    return { rooms: Array.from({ length: need.rooms }, (_, room) => `rtb-${target.runId}-${target.transport}${need.tag}-r${room}`) };
  },

  publisher(target, provisioned) {
    return {
      async publish(room, content) {
        const started = performance.now();
        try {
          const response = await fetch(url(target.url, '/messages'), {
            method: 'POST',
            headers: { ...target.headers, 'content-type': 'application/json' },
            body: JSON.stringify({ chatRoomId: provisioned.rooms[room], content }),
            signal: AbortSignal.timeout(target.publishTimeoutMs),
          });
          await response.arrayBuffer();
          return { rttUs: Math.round((performance.now() - started) * 1000), errorCode: response.status === 201 ? null : `HTTP_${response.status}` };
        } catch (error) {
          return { rttUs: Math.round((performance.now() - started) * 1000), errorCode: (error as Error).name === 'TimeoutError' ? 'PUBLISH_TIMEOUT' : 'PUBLISH_ERROR' };
        }
      },
      async close() {},
    };
  },

  subscription(target, provisioned, subscriber) {
    const room = encodeURIComponent(provisioned.rooms[subscriber.room] ?? '');
    return {
      transport: 'ws',
      url: (cursor) => url(target.url.replace(/^http/, 'ws'), `/ws/chat-rooms/${room}/messages${typeof cursor === 'number' ? `?since=${cursor}` : ''}`),
      headers: target.headers,
      // Once connected, before anything arrives: nothing is pushed until the socket subscribes.
      open: (send) => send(JSON.stringify({ type: 'subscribe' })),
      read(text, cursor, send) {
        const frame = JSON.parse(text) as { type?: string; id?: number; content?: string };
        // The server's liveness check: answered at once, on the same connection. Not a message.
        if (frame.type === 'ping') {
          send(JSON.stringify({ type: 'pong' }));
          return { messages: [] };
        }
        if (typeof frame.id !== 'number' || typeof frame.content !== 'string') return { messages: [], error: 'WS_BAD_FRAME' };
        return { messages: [{ content: frame.content, id: frame.id }], cursor: typeof cursor === 'number' && cursor > frame.id ? cursor : frame.id };
      },
    };
  },
};

export default profile;
