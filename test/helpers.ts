import { request } from 'undici';
import { afterEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../servers/app.js';
import { seededRandom } from '../core/random.js';
import { CLIENTS } from '../clients/index.js';
import type { ClientContext, Cursor, SubscribeSpec, Subscription, TransportClient } from '../clients/types.js';
import type { TransportName } from '../core/transports.js';
import { referenceProfile } from '../targets/reference.js';
import type { TargetContext } from '../targets/types.js';

/** A reference server in this process on 127.0.0.1:0; closed by the returned function. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildServer(options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

export function clientContext(overrides: Partial<ClientContext> = {}): ClientContext {
  return {
    resume: true,
    reconnect: { baseMs: 10, maxMs: 100 },
    connectTimeoutMs: 5000,
    random: seededRandom(7),
    ...overrides,
  };
}

/** Contract A (the reference profile) as a test talks to it: one server, one transport. */
export function referenceTarget(url: string, transport: TransportName, overrides: Partial<TargetContext> = {}): TargetContext {
  return {
    url, directUrl: url, transport, runId: 'test', headers: {}, resume: true, heartbeatMs: 10_000, pollTimeoutMs: 30_000, connectTimeoutMs: 5000,
    publishConnections: 4, publishTimeoutMs: 5000, ...overrides,
  };
}

/** How a reference-profile subscriber of `room` subscribes over `target.transport`. */
export function referenceSpec(target: TargetContext, room: string): SubscribeSpec {
  return referenceProfile.subscription(target, { rooms: [room] }, { index: 0, room: 0 });
}

export async function publish(baseUrl: string, chatRoomId: string, content: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await request(`${baseUrl}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ chatRoomId, content }),
  });
  return { status: response.statusCode, body: await response.body.json() };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const response = await request(url, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : null };
}

export interface Received {
  readonly ids: Cursor[];
  readonly contents: string[];
  readonly gaps: Array<{ from: Cursor; to: Cursor }>;
  readonly errors: string[];
}

/** Subscribes and collects; `until` resolves when a predicate over what was received holds (event-driven, bounded). */
export function collect(transport: TransportName, context: ClientContext, spec: SubscribeSpec) {
  const client = CLIENTS[transport] as unknown as TransportClient;
  const received: Received = { ids: [], contents: [], gaps: [], errors: [] };
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const subscription: Subscription = client.subscribe(context, spec as never, {
    onMessage(content, _receivedUs, id) {
      if (id !== undefined) received.ids.push(id);
      received.contents.push(content);
      wake();
    },
    onGap(from, to) {
      received.gaps.push({ from, to });
      wake();
    },
    onError(code) {
      received.errors.push(code);
      wake();
    },
  });
  const until = (check: (r: Received) => boolean, what: string, limitMs = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${limitMs} ms waiting for ${what}; got ids ${JSON.stringify(received.ids)}`)), limitMs);
      const check_ = (): void => {
        if (check(received)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check_);
      };
      check_();
    });
  return { received, subscription, until };
}

/**
 * Per-test cleanup for a test file: steps run in reverse order after each test, and `server()`
 * starts a reference server that is closed that way.
 */
export function testCleanup() {
  const steps: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return {
    add(step: () => Promise<unknown> | unknown): void {
      steps.push(step);
    },
    async server(options: Partial<ServerOptions> = {}): Promise<string> {
      const { app, url } = await startServer(options);
      steps.push(() => app.close());
      return url;
    },
  };
}

/**
 * Resolves once `check` holds, looking again every few milliseconds; rejects after `limitMs` naming
 * `what`. For conditions that announce themselves by no event (a counter in another object).
 */
export async function waitFor(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const limit = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > limit) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
