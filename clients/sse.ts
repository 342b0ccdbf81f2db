import { EventSource, type FetchLike } from 'eventsource';
import { fetch as undiciFetch } from 'undici';
import { nowUs } from '../bench/clock.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import type { ClientContext, SubscriberHandlers, Subscription, TransportClient } from './types.js';
import { endpoint, roomPath } from './url.js';

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
        const fetchWithHeaders: FetchLike = async (input, init) => {
          const headers: Record<string, string> = { ...init.headers, ...context.headers };
          if (resumeFrom) headers['Last-Event-ID'] = resumeFrom;
          // The connect timeout covers the response headers only; the stream itself may last for hours.
          const controller = new AbortController();
          const upstream = init.signal as AbortSignal | undefined;
          upstream?.addEventListener('abort', () => controller.abort(upstream.reason), { once: true });
          const timer = setTimeout(() => controller.abort(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })), context.connectTimeoutMs);
          try {
            return await undiciFetch(input, { ...init, headers, signal: controller.signal, dispatcher: context.dispatcher });
          } finally {
            clearTimeout(timer);
          }
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
