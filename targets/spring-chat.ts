import type { Delivery, StompSpec, SubscribeSpec } from '../clients/types.js';
import { boundedAll, endpoint, jsonRequest, postMessages, runPrefix, runRoomName, webSocketUrl } from './http.js';
import type { TargetContext, TargetProfile } from './types.js';

/**
 * Contract B: the Spring Boot chat service of the study (docs/contract.md), in its two shapes.
 * Every REST answer is wrapped (`{success, data, error}`), ids are UUID strings, users log in for a
 * bearer token that expires, rooms are created and joined, and only members may publish. No push
 * channel has a cursor, so nothing can resume.
 *
 * - `spring-chat` (shape `current`, what went to production): STOMP only, at `/ws`; each subscriber
 *   is its own user, a member of its room, subscribed to its own topic `/topic/user/{id}/messages`;
 *   an expired token ends the session with ERROR COMMON_005 and the client logs in again.
 * - `spring-chat-comparison` (the shape the study measured): SSE, long polling and STOMP at
 *   `/ws/websocket`, per room, no membership checks; one user serves every subscriber.
 */
interface Account {
  readonly email: string;
  readonly password: string;
  readonly userId: string;
  readonly token: string;
}

interface Provisioned {
  readonly rooms: readonly string[];
  readonly publisher: Account;
  /** One account per subscriber (shape current); empty for the comparison shape (all use `publisher`). */
  readonly subscribers: readonly Account[];
}

interface Wrapped<T> {
  readonly success: boolean;
  readonly data: T;
}

const PASSWORD = 'rtbench-password-1';
const PROVISION_TIMEOUT_MS = 30_000;

async function signUpAndLogIn(target: TargetContext, email: string, nickname: string): Promise<Account> {
  await jsonRequest(endpoint(target.directUrl, '/users'), { method: 'POST', body: { email, password: PASSWORD, nickname }, timeoutMs: PROVISION_TIMEOUT_MS, expect: [201] });
  return logIn(target, email, PASSWORD);
}

async function logIn(target: TargetContext, email: string, password: string): Promise<Account> {
  const { body } = await jsonRequest<Wrapped<{ accessToken: string; userId: string }>>(endpoint(target.directUrl, '/auth/login'), {
    method: 'POST',
    body: { email, password },
    timeoutMs: PROVISION_TIMEOUT_MS,
    expect: [200, 201],
  });
  return { email, password, userId: body.data.userId, token: body.data.accessToken };
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** Users, rooms and membership for one run: the publisher creates every room (the creator is a member). */
async function provisionAccounts(target: TargetContext, rooms: number, subscriberRooms: readonly number[], tag: string, concurrency: number, perSubscriber: boolean): Promise<Provisioned> {
  const prefix = runPrefix(target, tag);
  const publisher = await signUpAndLogIn(target, `${prefix}-pub@rtbench.invalid`, 'rtb-pub');
  const roomIds = await boundedAll(rooms, concurrency, async (room) => {
    const { body } = await jsonRequest<Wrapped<{ id: string }>>(endpoint(target.directUrl, '/chat-rooms'), {
      method: 'POST', headers: bearer(publisher.token), body: { name: runRoomName(target, tag, room) }, timeoutMs: PROVISION_TIMEOUT_MS, expect: [201],
    });
    return body.data.id;
  });
  const subscribers = perSubscriber
    ? await boundedAll(subscriberRooms.length, concurrency, async (index) => {
        const account = await signUpAndLogIn(target, `${prefix}-s${index}@rtbench.invalid`, `s${index}`.slice(0, 20).padEnd(2, '_'));
        await jsonRequest(endpoint(target.directUrl, `/chat-rooms/${encodeURIComponent(roomIds[subscriberRooms[index] ?? 0] ?? '')}/members/me`), {
          method: 'POST', headers: bearer(account.token), timeoutMs: PROVISION_TIMEOUT_MS, expect: [201],
        });
        return account;
      })
    : [];
  return { rooms: roomIds, publisher, subscribers };
}

/** A pushed payload is the message JSON, not wrapped; its `content` carries rtbench's marker. */
function readMessage(text: string, badCode: string): Delivery {
  try {
    const message = JSON.parse(text) as { id?: unknown; content?: unknown };
    if (typeof message.content !== 'string') return { messages: [], error: badCode };
    return { messages: [{ content: message.content, ...(typeof message.id === 'string' ? { id: message.id } : {}) }] };
  } catch {
    return { messages: [], error: badCode };
  }
}

/** An ERROR frame's code: the JSON body's `code` (COMMON_005 for an expired session), else its `message` header. */
function stompErrorCode(frame: { body: string; headers: Readonly<Record<string, string>> }): string {
  try {
    const code = (JSON.parse(frame.body) as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  } catch {
    // not JSON
  }
  return frame.headers.message ?? 'ERROR';
}

function publisherChannel(target: TargetContext, provisioned: Provisioned) {
  let account = provisioned.publisher;
  // Tokens expire (an hour by default): a 401 logs the publisher in again, once, and retries.
  return postMessages(target, provisioned.rooms, () => bearer(account.token), async (status) => {
    if (status !== 401) return false;
    account = await logIn(target, account.email, account.password);
    return true;
  });
}

async function health(target: TargetContext): Promise<void> {
  const { body } = await jsonRequest<{ status?: string }>(endpoint(target.directUrl, '/actuator/health'), { headers: { ...target.headers }, timeoutMs: target.connectTimeoutMs, expect: [200] });
  if (body?.status !== 'UP') throw new Error(`GET /actuator/health says ${JSON.stringify(body)}, not {"status":"UP"}`);
}

export const springChatProfile: TargetProfile<Provisioned> = {
  name: 'spring-chat',
  summary: "contract B, shape current (the study's production service): STOMP at /ws, a user per subscriber, members only, tokens that expire",
  transports: ['stomp'],
  resume: {},
  health,
  provision: (target, need) => provisionAccounts(target, need.rooms, need.subscriberRooms, need.tag, need.concurrency, true),
  publisher: publisherChannel,
  subscription(target, provisioned, subscriber): StompSpec {
    if (target.transport !== 'stomp') throw new Error(`spring-chat serves STOMP only, not ${target.transport}`);
    let account = provisioned.subscribers[subscriber.index] ?? provisioned.publisher;
    return {
      transport: 'stomp',
      url: () => webSocketUrl(endpoint(target.url, '/ws')),
      headers: target.headers,
      // Authentication at CONNECT: asked on every connection, so a renewed token is used.
      connectHeaders: () => bearer(account.token),
      destination: `/topic/user/${account.userId}/messages`,
      subscribeHeaders: () => ({}),
      heartbeatMs: target.heartbeatMs,
      read: (frame) => readMessage(frame.body, 'STOMP_BAD_MESSAGE'),
      errorCode: stompErrorCode,
      renew: async (code) => {
        // An expired session (or a token the server no longer takes): log in again.
        if (code === 'COMMON_005' || code === 'COMMON_002') account = await logIn(target, account.email, account.password);
      },
    };
  },
};

export const springChatComparisonProfile: TargetProfile<Provisioned> = {
  name: 'spring-chat-comparison',
  summary: 'contract B, shape comparison (the one the study measured): SSE, long polling and STOMP at /ws/websocket, no cursor anywhere',
  transports: ['sse', 'long-polling', 'stomp'],
  resume: {},
  health,
  provision: (target, need) => provisionAccounts(target, need.rooms, need.subscriberRooms, need.tag, need.concurrency, false),
  publisher: publisherChannel,
  subscription(target, provisioned, subscriber): SubscribeSpec {
    const room = encodeURIComponent(provisioned.rooms[subscriber.room] ?? '');
    const token = provisioned.publisher.token;
    switch (target.transport) {
      case 'sse':
        return {
          transport: 'sse',
          url: () => endpoint(target.url, `/sse/chat-rooms/${room}/messages`).toString(),
          headers: () => ({ ...target.headers, ...bearer(token) }),
          openEvent: 'connected',
          events: ['message'],
          read: (event) => readMessage(event.data, 'SSE_BAD_EVENT'),
        };
      case 'long-polling':
        return {
          transport: 'long-polling',
          poll: () => ({ url: endpoint(target.url, `/long-polling/chat-rooms/${room}/messages`).toString(), headers: { ...target.headers, ...bearer(token) } }),
          // No poll is answered at once; the health endpoint is, on the same connection, proving it works.
          probe: () => ({ url: endpoint(target.url, '/actuator/health').toString(), headers: { ...target.headers } }),
          readProbe: ({ status }) => (status === 200 ? { messages: [] } : { messages: [], error: `HTTP_${status}`, ends: true }),
          // The server holds a poll 30 s and answers [].
          pollLimitMs: 40_000,
          read: ({ status, body }) => {
            if (status !== 200) return { messages: [], error: `HTTP_${status}`, ends: true };
            try {
              const items = JSON.parse(body) as Array<{ id?: unknown; content?: unknown }>;
              if (!Array.isArray(items)) return { messages: [], error: 'LP_BAD_BODY' };
              return { messages: items.filter((m) => typeof m?.content === 'string').map((m) => ({ content: m.content as string, ...(typeof m.id === 'string' ? { id: m.id } : {}) })) };
            } catch {
              return { messages: [], error: 'LP_BAD_BODY' };
            }
          },
        };
      case 'stomp':
        return {
          transport: 'stomp',
          url: () => webSocketUrl(endpoint(target.url, '/ws/websocket', { access_token: token })),
          headers: target.headers,
          connectHeaders: () => ({}),
          destination: `/topic/chat-rooms/${room}/messages`,
          subscribeHeaders: () => ({}),
          heartbeatMs: target.heartbeatMs,
          read: (frame) => readMessage(frame.body, 'STOMP_BAD_MESSAGE'),
          errorCode: stompErrorCode,
        };
      default:
        throw new Error(`spring-chat-comparison does not serve ${target.transport}`);
    }
  },
};
