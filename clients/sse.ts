import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { nowUs } from '../core/clock.js';
import { DeliveryState } from './delivery.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import type { ClientContext, SseSpec, SubscriberHandlers, Subscription, TransportClient } from './types.js';

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
 * transports' and resume can be switched off to reproduce the study's clients.
 */
export const sseClient: TransportClient<'sse'> = {
  name: 'sse',
  subscribe(context: ClientContext, spec: SseSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const cursor = state.resumeFrom(context.resume);
        const extraHeaders = spec.headers(cursor);
        const fetchWithHeaders: FetchLike = (input, init) => streamFetch(context, String(input), { ...init.headers, ...extraHeaders }, init.signal as AbortSignal | undefined);
        const source = new EventSource(spec.url(cursor), { fetch: fetchWithHeaders });
        if (spec.openEvent === null) source.addEventListener('open', opened);
        else source.addEventListener(spec.openEvent, opened);
        for (const type of spec.events) {
          source.addEventListener(type, (event) => {
            const receivedUs = nowUs();
            state.deliver(spec.read({ type, data: event.data, lastEventId: event.lastEventId }, state.cursor), receivedUs);
          });
        }
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
    return subscriptionOf(loop, state);
  },
};
