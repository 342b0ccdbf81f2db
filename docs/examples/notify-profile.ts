// A target profile of your own: how rtbench talks to a made-up "notify" API.
//   rtbench burst --profile ./docs/examples/notify-profile.ts --target http://127.0.0.1:8080
// The API: an API key in X-Api-Key (and ?key= for WebSockets); channels created with
// PUT /v1/channels/{name}; events published with POST /v1/channels/{name}/events {"payload"}
// (202 = accepted); pushed as {"event": {"seq", "payload"}} over a WebSocket at
// /v1/channels/{name}/socket and an SSE stream at /v1/channels/{name}/stream, which resumes with
// Last-Event-ID. rtbench puts its marker in the payload and reads it back: the payload must come back
// byte for byte.
//
// A .ts profile is compiled by stripping its types: import only types (`import type`), as here.
import type { TargetProfile } from '../../targets/types.js';

const KEY = process.env.NOTIFY_API_KEY ?? 'demo-key';

interface Provisioned {
  readonly channels: string[];
}

const url = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

/** The payload inside an event envelope (or an error code when it is not one). */
function read(text: string): { messages: Array<{ content: string; id?: number }>; cursor?: number; error?: string } {
  try {
    const { event } = JSON.parse(text) as { event?: { seq?: number; payload?: unknown } };
    if (typeof event?.payload !== 'string') return { messages: [], error: 'NOTIFY_BAD_EVENT' };
    return { messages: [{ content: event.payload, id: event.seq }], cursor: event.seq };
  } catch {
    return { messages: [], error: 'NOTIFY_BAD_EVENT' };
  }
}

const profile: TargetProfile<Provisioned> = {
  name: 'notify',
  summary: 'the made-up notify API of docs/profiles.md',
  transports: ['ws', 'sse'],
  // SSE resumes with Last-Event-ID; the WebSocket has no cursor.
  resume: { sse: 'last-event-id' },

  async health(target) {
    const response = await fetch(url(target.directUrl, '/status'), { signal: AbortSignal.timeout(target.connectTimeoutMs) });
    if (response.status !== 200) throw new Error(`GET /status answered ${response.status}`);
  },

  // Untimed, before measuring: one channel per room, named after the run.
  async provision(target, need) {
    const channels = Array.from({ length: need.rooms }, (_, room) => `rtb-${target.runId}-${target.transport}${need.tag}-r${room}`);
    for (const channel of channels) {
      const response = await fetch(url(target.directUrl, `/v1/channels/${channel}`), { method: 'PUT', headers: { 'x-api-key': KEY } });
      if (response.status !== 201) throw new Error(`PUT /v1/channels/${channel} answered ${response.status}`);
    }
    return { channels };
  },

  // One POST per message; 202 means accepted. `publish` must never reject: failures are codes.
  publisher(target, provisioned) {
    return {
      async publish(room, content) {
        const started = performance.now();
        try {
          const response = await fetch(url(target.url, `/v1/channels/${provisioned.channels[room]}/events`), {
            method: 'POST',
            headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ payload: content }),
            signal: AbortSignal.timeout(target.publishTimeoutMs),
          });
          await response.arrayBuffer();
          return { rttUs: Math.round((performance.now() - started) * 1000), errorCode: response.status === 202 ? null : `HTTP_${response.status}` };
        } catch (error) {
          return { rttUs: Math.round((performance.now() - started) * 1000), errorCode: (error as Error).name === 'TimeoutError' ? 'PUBLISH_TIMEOUT' : 'PUBLISH_ERROR' };
        }
      },
      async close() {},
    };
  },

  subscription(target, provisioned, subscriber) {
    const channel = provisioned.channels[subscriber.room];
    if (target.transport === 'ws') {
      return {
        transport: 'ws',
        url: () => url(target.url.replace(/^http/, 'ws'), `/v1/channels/${channel}/socket?key=${KEY}`),
        headers: {},
        read: (text) => read(text),
      };
    }
    return {
      transport: 'sse',
      url: () => url(target.url, `/v1/channels/${channel}/stream`),
      headers: (cursor) => ({ 'x-api-key': KEY, ...(cursor === null ? {} : { 'Last-Event-ID': String(cursor) }) }),
      // The stream says nothing before the first event: it is live once the response head is in.
      openEvent: null,
      events: ['message'],
      read: (event) => read(event.data),
    };
  },
};

export default profile;
