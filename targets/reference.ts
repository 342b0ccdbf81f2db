import type { Cursor, Delivery, SubscribeSpec } from '../clients/types.js';
import { endpoint, jsonRequest, postMessages, runRoomName, webSocketUrl } from './http.js';
import type { TargetContext, TargetProfile } from './types.js';

/**
 * Contract A (docs/contract.md): rtbench's built-in servers, and any server that implements it.
 * Rooms are named by rtbench and exist once used; every transport resumes from the last message id.
 */
interface Provisioned {
  readonly rooms: readonly string[];
}

const roomPath = (prefix: string, room: string): string => `/${prefix}/chat-rooms/${encodeURIComponent(room)}/messages`;

/** The highest message id seen: contract A's resume cursor. */
function after(cursor: Cursor | null, id: number): number {
  return typeof cursor === 'number' && cursor > id ? cursor : id;
}

/** The cursor after a gap `{from, to}`: the last id the server still knows is `from - 1`. */
export function cursorAfterGap(from: number): number {
  return Math.max(0, from - 1);
}

/** One pushed message JSON (or a gap sign) as a delivery. */
function readMessage(value: unknown, cursor: Cursor | null, badCode: string): Delivery {
  const record = value as Record<string, unknown> | null;
  if (!record || typeof record !== 'object') return { messages: [], error: badCode };
  if (record.type === 'gap') {
    const from = Number(record.from);
    return { messages: [], gap: { from, to: Number(record.to) }, cursor: cursorAfterGap(from) };
  }
  if (typeof record.id !== 'number' || typeof record.content !== 'string') return { messages: [], error: badCode };
  return { messages: [{ content: record.content, id: record.id }], cursor: after(cursor, record.id) };
}

function parse(text: string, cursor: Cursor | null, badCode: string, extra: Record<string, unknown> | null = null): Delivery {
  try {
    const value: unknown = JSON.parse(text);
    // Copied only to add `extra` (an SSE gap's type): a subscriber parses thousands of these a second.
    return readMessage(extra && value && typeof value === 'object' ? { ...value, ...extra } : value, cursor, badCode);
  } catch {
    return { messages: [], error: badCode };
  }
}

const since = (cursor: Cursor | null): number | undefined => (typeof cursor === 'number' && cursor > 0 ? cursor : undefined);

export const referenceProfile: TargetProfile<Provisioned> = {
  name: 'reference',
  summary: "contract A: rtbench's built-in servers, and any server that implements it (docs/contract.md)",
  transports: ['ws', 'sse', 'long-polling', 'stomp'],
  resume: { ws: 'cursor', sse: 'last-event-id', 'long-polling': 'cursor', stomp: 'cursor' },

  async health(target: TargetContext) {
    await jsonRequest(endpoint(target.directUrl, '/health'), { headers: { ...target.headers }, timeoutMs: target.connectTimeoutMs, expect: [200] });
  },

  async provision(target, need) {
    // Rooms exist implicitly in contract A: naming them after the run keeps every run apart.
    return { rooms: Array.from({ length: need.rooms }, (_, room) => runRoomName(target, need.tag, room)) };
  },

  publisher: (target, provisioned) => postMessages(target, provisioned.rooms),

  subscription(target, provisioned, subscriber): SubscribeSpec {
    const room = provisioned.rooms[subscriber.room] ?? '';
    switch (target.transport) {
      case 'ws':
        return {
          transport: 'ws',
          url: (cursor) => webSocketUrl(endpoint(target.url, roomPath('ws', room), { since: since(cursor) })),
          headers: target.headers,
          read: (text, cursor) => parse(text, cursor, 'WS_BAD_FRAME'),
        };
      case 'sse':
        return {
          transport: 'sse',
          url: () => endpoint(target.url, roomPath('sse', room)).toString(),
          headers: (cursor) => (since(cursor) === undefined ? target.headers : { ...target.headers, 'Last-Event-ID': String(cursor) }),
          openEvent: 'connected',
          events: ['message', 'gap'],
          // A gap comes as an event of its own type, its data `{"from", "to"}`.
          read: (event, cursor) => parse(event.data, cursor, 'SSE_BAD_EVENT', event.type === 'gap' ? { type: 'gap' } : null),
        };
      case 'long-polling': {
        // The path is resolved once; each poll appends its query (two numbers, nothing to escape),
        // where a URL object and its search params per poll cost several times that.
        const pollUrl = endpoint(target.url, roomPath('long-polling', room)).toString();
        const poll = (timeoutMs: number) => (cursor: Cursor | null) => ({
          url: target.resume ? `${pollUrl}?since=${since(cursor) ?? 0}&timeout=${timeoutMs}` : `${pollUrl}?timeout=${timeoutMs}`,
          headers: target.headers,
        });
        return {
          transport: 'long-polling',
          poll: poll(target.pollTimeoutMs),
          probe: poll(0),
          // As `poll` builds it: the cursor is the highest id read; a gap (X-Gap) is asked about.
          pageFollow: (cursor) => ({
            url: target.resume ? `${pollUrl}?since={cursor}&timeout=${target.pollTimeoutMs}` : `${pollUrl}?timeout=${target.pollTimeoutMs}`,
            headers: target.headers,
            cursor: since(cursor) ?? 0,
            maxOf: 'id',
            status: 200,
            askOn: ['x-gap'],
          }),
          pollLimitMs: target.pollTimeoutMs + 10_000,
          read: ({ status, headers, body }, cursor) => {
            if (status !== 200) return { messages: [], error: `HTTP_${status}`, ends: true };
            let gap: Delivery['gap'] = null;
            let next = cursor;
            const gapHeader = headers['x-gap'];
            if (typeof gapHeader === 'string') {
              const [from, to] = gapHeader.split('-').map(Number);
              gap = { from: from ?? 0, to: to ?? 0 };
              next = cursorAfterGap(from ?? 0);
            }
            let items: unknown;
            try {
              items = JSON.parse(body);
            } catch {
              return { messages: [], error: 'LP_BAD_BODY', gap };
            }
            if (!Array.isArray(items)) return { messages: [], error: 'LP_BAD_BODY', gap };
            const messages: Array<{ content: string; id: number }> = [];
            let bad = 0;
            for (const item of items as Array<Record<string, unknown>>) {
              if (typeof item?.id !== 'number' || typeof item.content !== 'string') {
                bad++;
                continue;
              }
              next = after(next, item.id);
              messages.push({ content: item.content, id: item.id });
            }
            return { messages, cursor: next, gap, ...(bad > 0 ? { error: 'LP_BAD_MESSAGE' } : {}) };
          },
        };
      }
      case 'stomp':
        return {
          transport: 'stomp',
          url: () => webSocketUrl(endpoint(target.url, '/stomp')),
          headers: target.headers,
          // Contract A takes a bearer token at CONNECT, as it does on every other request.
          connectHeaders: (): Record<string, string> => {
            const authorization = Object.entries(target.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
            return authorization ? { Authorization: authorization } : {};
          },
          destination: `/topic/chat-rooms/${encodeURIComponent(room)}/messages`,
          subscribeHeaders: (cursor): Record<string, string> => (since(cursor) === undefined ? {} : { since: String(cursor) }),
          heartbeatMs: target.heartbeatMs,
          read: (frame, cursor) => parse(frame.body, cursor, 'STOMP_BAD_MESSAGE'),
          errorCode: (frame) => frame.headers.message ?? 'ERROR',
        };
    }
  },
};
