import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { nowUs } from '../bench/clock.js';
import { ConnectionLoop, cursorAfterGap, subscriptionOf } from './reconnect.js';
import type { ClientContext, SubscriberHandlers, Subscription, TransportClient } from './types.js';
import { endpoint, roomPath } from './url.js';

/**
 * The `fetch` eventsource calls, done with undici's `request` over the run's dispatcher: the body
 * is handed over as Node stream chunks behind the small reader interface eventsource reads, which
 * costs far less per chunk than a WHATWG ReadableStream (the difference between a saturated and an
 * unsaturated generator at 10,000 SSE subscribers). Only the response headers are under the connect
 * timeout; the stream itself may last for hours.
 */
async function streamFetch(context: ClientContext, url: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<FetchLikeResponse> {
  const target = new URL(url);
  const response = await context.dispatcher.request({
    origin: target.origin,
    path: target.pathname + target.search,
    method: 'GET',
    headers,
    ...(signal ? { signal } : {}),
    headersTimeout: context.connectTimeoutMs,
    bodyTimeout: 0,
  });
  const chunks = response.body[Symbol.asyncIterator]();
  return {
    url,
    status: response.statusCode,
    redirected: false,
    headers: {
      get: (name: string) => {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: {
      getReader: () => ({
        read: async () => {
          const next = await chunks.next();
          return next.done ? { done: true as const } : { done: false as const, value: next.value as Buffer };
        },
        cancel: async () => {
          response.body.destroy();
        },
      }),
    },
  };
}

/**
 * SSE subscriber on the `eventsource` package. Each connection is one EventSource; rtbench closes it
 * on the first error and reconnects through the shared loop, so the wait is jittered like the other
 * transports' and resume (the `Last-Event-ID` header) can be switched off to reproduce the seed.
 */
export const sseClient: TransportClient = {
  name: 'sse',
  subscribe(context: ClientContext, chatRoomId: string, handlers: SubscriberHandlers): Subscription {
    let lastId = 0;
    let gaps = 0;
    const url = endpoint(context.baseUrl, roomPath('sse', chatRoomId)).toString();
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const resumeFrom = context.resume && lastId > 0 ? String(lastId) : undefined;
        const fetchWithHeaders: FetchLike = (input, init) => {
          const headers: Record<string, string> = { ...init.headers, ...context.headers };
          if (resumeFrom) headers['Last-Event-ID'] = resumeFrom;
          return streamFetch(context, String(input), headers, init.signal as AbortSignal | undefined);
        };
        const source = new EventSource(url, { fetch: fetchWithHeaders });
        source.addEventListener('connected', opened);
        source.addEventListener('message', (event) => {
          const receivedUs = nowUs();
          let message: unknown;
          try {
            message = JSON.parse(event.data);
          } catch {
            return handlers.onError?.('SSE_BAD_EVENT');
          }
          const record = message as Record<string, unknown> | null;
          if (!record || typeof record.id !== 'number' || typeof record.content !== 'string') return handlers.onError?.('SSE_BAD_EVENT');
          if (record.id > lastId) lastId = record.id;
          handlers.onMessage(record.content, receivedUs, record.id);
        });
        source.addEventListener('gap', (event) => {
          gaps++;
          try {
            const gap = JSON.parse(event.data) as { from: number; to: number };
            lastId = cursorAfterGap(gap.from);
            handlers.onGap?.(gap.from, gap.to);
          } catch {
            handlers.onError?.('SSE_BAD_EVENT');
          }
        });
        source.addEventListener('error', (event) => {
          source.close();
          const code = (event as unknown as { code?: number }).code;
          lost(code ? `HTTP_${code}` : 'SSE_DISCONNECTED');
        });
        return {
          stop: () => {
            source.close();
            lost('INTERRUPTED');
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    return subscriptionOf(loop, () => ({ gaps, lastId }));
  },
};
