import { request } from 'undici';
import { KeepAliveConnection } from '../clients/keep-alive-http.js';
import { nowUs } from '../core/clock.js';
import type { PublishChannel, PublishOutcome, TargetContext } from './types.js';

/** Joins a path to a base URL that may carry a path prefix (`http://host/api`), with query parameters. */
export function endpoint(baseUrl: string, path: string, query: Record<string, string | number | undefined> = {}): URL {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${prefix}${path}`, base);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url;
}

/** The same URL with the WebSocket scheme (`http:` -> `ws:`, `https:` -> `wss:`). */
export function webSocketUrl(url: URL | string): string {
  const copy = new URL(url);
  copy.protocol = copy.protocol === 'https:' ? 'wss:' : copy.protocol === 'http:' ? 'ws:' : copy.protocol;
  return copy.toString();
}

export interface HttpPublishOptions {
  readonly url: string;
  /** Keep-alive connections open at most; they are opened as the rate needs them. */
  readonly connections: number;
  readonly timeoutMs: number;
  /** The request that publishes `content` to `room`. */
  build(room: number, content: string): { readonly path: string; readonly headers: Readonly<Record<string, string>>; readonly body: string };
  /** Whether an answer means the message was accepted (contract A: 201). */
  accepted(status: number): boolean;
  /** Called on a refusal with this status before one retry (a token that expired: log in again). */
  renew?(status: number): Promise<boolean>;
}

/**
 * Keep-alive connections for publishing, one request at a time each: an idle one is reused, a new
 * one is opened when every open one is busy (so their number follows the rate: its sends in flight
 * at once), up to `max`; past that a send waits for one, at most `waitMs`.
 */
class PublishConnections {
  private readonly all: KeepAliveConnection[] = [];
  private readonly idle: KeepAliveConnection[] = [];
  private readonly waiting: Array<{ readonly take: (connection: KeepAliveConnection) => void; readonly timer: NodeJS.Timeout }> = [];
  private closed = false;

  constructor(
    private readonly origin: URL,
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {}

  take(): Promise<KeepAliveConnection> | KeepAliveConnection {
    if (this.closed) throw Object.assign(new Error('PUBLISH_CLOSED'), { code: 'PUBLISH_CLOSED' });
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.length < this.max) {
      const connection = new KeepAliveConnection(this.origin, { connectTimeoutMs: this.timeoutMs, codePrefix: 'PUBLISH', immediate: true });
      this.all.push(connection);
      return connection;
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        take: resolve,
        // Bounds the wait behind connections a stalled server never answers.
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(Object.assign(new Error('PUBLISH_TIMEOUT'), { code: 'PUBLISH_TIMEOUT' }));
        }, this.timeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  give(connection: KeepAliveConnection): void {
    if (this.closed) return connection.abort();
    const waiter = this.waiting.shift();
    if (!waiter) return void this.idle.push(connection);
    clearTimeout(waiter.timer);
    waiter.take(connection);
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) clearTimeout(waiter.timer);
    for (const connection of this.all.splice(0)) connection.abort();
    this.idle.length = 0;
  }
}

/**
 * Publishes with one HTTP request per message over keep-alive connections on bare sockets
 * (clients/keep-alive-http.ts): the answer is stamped as its last bytes come off the socket (read
 * at once, not after the subscribers' reads of the turn: only this round trip depends on it) and
 * its body is read without being kept. `publish` never rejects: every failure comes back as a code
 * (`HTTP_503`, `PUBLISH_TIMEOUT`, `ECONNREFUSED`).
 */
export function httpPublisher(options: HttpPublishOptions): PublishChannel {
  const origin = new URL(new URL(options.url).origin);
  const connections = new PublishConnections(origin, options.connections, options.timeoutMs);
  const base = origin.origin;
  const once = async (room: number, content: string): Promise<{ status: number; outcome: PublishOutcome }> => {
    const startUs = nowUs();
    try {
      const { path, headers, body } = options.build(room, content);
      const connection = await connections.take();
      try {
        const answer = await connection.request('POST', `${base}${path}`, headers, body, options.timeoutMs, false);
        return { status: answer.status, outcome: { rttUs: answer.receivedUs - startUs, errorCode: options.accepted(answer.status) ? null : `HTTP_${answer.status}` } };
      } finally {
        connections.give(connection);
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'PUBLISH_ERROR';
      return { status: 0, outcome: { rttUs: nowUs() - startUs, errorCode: code } };
    }
  };
  return {
    async publish(room, content) {
      const first = await once(room, content);
      if (first.outcome.errorCode === null || !options.renew || first.status === 0) return first.outcome;
      return (await options.renew(first.status)) ? (await once(room, content)).outcome : first.outcome;
    },
    async close() {
      connections.close();
    },
  };
}

/** What names this run's rooms, users and channels: `rtb-<run>-<transport><tag>`, so runs and transports never share one. */
export function runPrefix(target: Pick<TargetContext, 'runId' | 'transport'>, tag: string): string {
  return `rtb-${target.runId}-${target.transport}${tag}`;
}

export function runRoomName(target: Pick<TargetContext, 'runId' | 'transport'>, tag: string, room: number): string {
  return `${runPrefix(target, tag)}-r${room}`;
}

/**
 * `POST /messages {"chatRoomId", "content"}`, accepted with 201: how both contracts publish.
 * `headers()` is asked per request, so a renewed token is used at once.
 */
export function postMessages(target: TargetContext, rooms: readonly string[], headers: () => Readonly<Record<string, string>> = () => ({}), renew?: HttpPublishOptions['renew']): PublishChannel {
  const url = endpoint(target.url, '/messages');
  return httpPublisher({
    url: url.toString(),
    connections: target.publishConnections,
    timeoutMs: target.publishTimeoutMs,
    build: (room, content) => ({
      path: url.pathname,
      headers: { ...target.headers, ...headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ chatRoomId: rooms[room], content }),
    }),
    accepted: (status) => status === 201,
    ...(renew ? { renew } : {}),
  });
}

/** One JSON request for provisioning and health checks; rejects with the status and body on anything but `expect`. */
export async function jsonRequest<T>(
  url: URL | string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs: number; expect: readonly number[] },
): Promise<{ status: number; body: T }> {
  const response = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: { accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs),
  });
  const text = await response.body.text();
  if (!init.expect.includes(response.statusCode)) {
    throw Object.assign(new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} answered HTTP ${response.statusCode}: ${text.slice(0, 300)}`), { code: `HTTP_${response.statusCode}` });
  }
  return { status: response.statusCode, body: (text ? JSON.parse(text) : null) as T };
}

/** Runs `task` for 0..count-1 with at most `concurrency` at once; rejects with the first failure. */
export async function boundedAll<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(lanes);
  return results;
}
