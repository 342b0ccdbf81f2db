import type { Cursor, Delivery, SubscribeSpec } from '../clients/types.js';
import { endpoint, httpPublisher, jsonRequest, runRoomName, webSocketUrl } from './http.js';
import type { TargetProfile } from './types.js';

/**
 * nginx with the nchan module (docs/targets/nchan.md): one channel per room, published with
 * `POST /pub?id=CH`, subscribed at `/sub/CH` over WebSocket, SSE or long polling. nchan keeps a
 * message buffer per channel and every transport resumes from a message id (`<unix seconds>:<n>`,
 * not contiguous: loss is counted from rtbench's marker, never from ids).
 */
interface Provisioned {
  readonly channels: readonly string[];
}

/** The WebSocket subprotocol in which nchan prefixes each frame with its id: `id: ...\n...\n\n<body>`. */
const META_PROTOCOL = 'ws+meta.nchan';

/** Reads a `ws+meta.nchan` frame: headers up to the first blank line, then the message body. */
export function readMetaFrame(text: string): Delivery {
  const split = text.indexOf('\n\n');
  if (split < 0) return { messages: [], error: 'NCHAN_BAD_FRAME' };
  const id = /^id: ?(.*)$/m.exec(text.slice(0, split))?.[1];
  const content = text.slice(split + 2);
  return id ? { messages: [{ content, id }], cursor: id } : { messages: [{ content }] };
}

/** Long poll: the next message comes with `Last-Modified` and `Etag`; both go back as the cursor. */
function pollCursor(headers: Readonly<Record<string, string | string[] | undefined>>): Cursor | undefined {
  const lastModified = headers['last-modified'];
  const etag = headers.etag;
  return typeof lastModified === 'string' && typeof etag === 'string' ? `${lastModified}|${etag}` : undefined;
}

export const nchanProfile: TargetProfile<Provisioned> = {
  name: 'nchan',
  summary: 'nginx + nchan pub/sub: WebSocket, SSE and long polling on /sub/<channel>, publish on /pub?id=<channel> (docs/targets/nchan.md)',
  transports: ['ws', 'sse', 'long-polling'],
  resume: { ws: 'cursor', sse: 'last-event-id', 'long-polling': 'cursor' },

  async health(target) {
    await jsonRequest(endpoint(target.directUrl, '/health'), { headers: { ...target.headers }, timeoutMs: target.connectTimeoutMs, expect: [200] }).catch(async (error: unknown) => {
      // Without the recipe's /health location, a channel query still proves nchan is there.
      const probe = await jsonRequest(endpoint(target.directUrl, '/pub', { id: `rtb-${target.runId}-health` }), { headers: { accept: 'text/json' }, timeoutMs: target.connectTimeoutMs, expect: [200, 404] }).catch(() => null);
      if (!probe) throw error;
    });
  },

  async provision(target, need) {
    // Channels are created on first use; a fresh id per run keeps runs apart.
    return { channels: Array.from({ length: need.rooms }, (_, room) => runRoomName(target, need.tag, room)) };
  },

  publisher(target, provisioned) {
    const url = endpoint(target.url, '/pub');
    return httpPublisher({
      url: url.toString(),
      connections: target.publishConnections,
      timeoutMs: target.publishTimeoutMs,
      build: (room, content) => ({
        path: `${url.pathname}?id=${encodeURIComponent(provisioned.channels[room] ?? '')}`,
        // The request's content type becomes the message's; text/plain keeps SSE and WS frames plain text.
        headers: { ...target.headers, 'content-type': 'text/plain', accept: 'text/json' },
        body: content,
      }),
      // 201 when subscribers were there, 202 when none: either way the message is stored.
      accepted: (status) => status === 201 || status === 202,
    });
  },

  subscription(target, provisioned, subscriber): SubscribeSpec {
    const channel = provisioned.channels[subscriber.room] ?? '';
    const path = `/sub/${encodeURIComponent(channel)}`;
    switch (target.transport) {
      case 'ws':
        return {
          transport: 'ws',
          url: (cursor) => webSocketUrl(endpoint(target.url, path, { last_event_id: cursor === null ? undefined : String(cursor) })),
          headers: target.headers,
          protocols: [META_PROTOCOL],
          read: (text) => readMetaFrame(text),
        };
      case 'sse':
        return {
          transport: 'sse',
          url: () => endpoint(target.url, path).toString(),
          headers: (cursor) => ({ ...target.headers, accept: 'text/event-stream', ...(cursor === null ? {} : { 'Last-Event-ID': String(cursor) }) }),
          // nchan's first bytes (`: hi`) come with the response head: the stream is live once it answers.
          openEvent: null,
          events: ['message'],
          read: (event) => ({ messages: [{ content: event.data, id: event.lastEventId }], cursor: event.lastEventId || undefined }),
        };
      case 'long-polling':
        return {
          transport: 'long-polling',
          poll: (cursor) => {
            const [lastModified, etag] = typeof cursor === 'string' ? cursor.split('|') : [];
            return {
              url: endpoint(target.url, path).toString(),
              headers: { ...target.headers, accept: '*/*', ...(lastModified && etag !== undefined ? { 'If-Modified-Since': lastModified, 'If-None-Match': etag } : {}) },
            };
          },
          // nchan answers no poll at once; its channel-info request does, on the same connection, so
          // it proves the connection works (a proxy that accepts and drops is not counted as open).
          probe: () => ({ url: endpoint(target.url, '/pub', { id: channel }).toString(), headers: { ...target.headers, accept: 'text/json' } }),
          readProbe: ({ status }) => (status === 200 || status === 404 ? { messages: [] } : { messages: [], error: `HTTP_${status}`, ends: true }),
          // nchan holds a poll until a message comes (it has no subscriber timeout by default).
          pollLimitMs: 0,
          read: ({ status, headers, body }) => {
            if (status === 200) return { messages: [{ content: body }], cursor: pollCursor(headers) };
            // 304 (nothing new) and 408 (nchan's own subscriber timeout): poll again.
            if (status === 304 || status === 408) return { messages: [] };
            return { messages: [], error: `HTTP_${status}`, ends: true };
          },
        };
      default:
        throw new Error(`nchan does not serve ${target.transport}`);
    }
  },
};
