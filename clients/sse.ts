import { BodyReader, framingOf } from './http-body.js';
import { DeliveryState } from './delivery.js';
import { HeadReader, connectRaw, requestHead } from './raw-socket.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import { SseParser } from './sse-parser.js';
import type { ClientContext, SseSpec, SubscriberHandlers, Subscription, TransportClient } from './types.js';

/** One options object for every decode, not one per event. */
const STREAM = { stream: true } as const;

/**
 * SSE subscriber on a bare socket (raw-socket.ts): one GET, the response head checked as a browser's
 * EventSource checks it (200 and `text/event-stream`, else the connection fails: `HTTP_<status>`,
 * `SSE_BAD_CONTENT_TYPE`), the body de-chunked (http-body.ts), decoded as streamed UTF-8 and read
 * by the standard's event-stream rules (sse-parser.ts). One connection per EventSource; rtbench
 * closes it on the first error or end of stream and reconnects through the shared loop, so the
 * wait is jittered like the other transports' and resume can be switched off to reproduce the
 * study's clients.
 */
export const sseClient: TransportClient<'sse'> = {
  name: 'sse',
  subscribe(context: ClientContext, spec: SseSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    const listened = new Set(spec.events);
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const cursor = state.resumeFrom(context.resume);
        const url = new URL(spec.url(cursor));
        const head = new HeadReader();
        const decoder = new TextDecoder('utf-8');
        let receivedUs = 0;
        let ended = false;
        const parser = new SseParser((event) => {
          if (event.type === spec.openEvent) opened();
          if (listened.has(event.type)) state.deliver(spec.read(event, state.cursor), receivedUs);
        });
        let body: BodyReader | null = null;
        const end = (code: string): void => {
          if (ended) return;
          ended = true;
          clearTimeout(headTimer);
          lost(code);
          socket.destroy();
        };
        const readBody = (data: Buffer, start: number, finish: number): void => {
          if (!body) return;
          const done = body.feed(data, start, finish);
          if (body.broken) return end('SSE_BAD_CHUNK');
          if (parser.broken !== null) return end(parser.broken);
          if (done) end('SSE_DISCONNECTED');
        };
        const onBytes = (data: Buffer, start: number, finish: number, stampUs: number): void => {
          receivedUs = stampUs;
          if (ended) return;
          if (body) return readBody(data, start, finish);
          const response = head.push(data, start, finish);
          if (response === null) return;
          if (response === 'bad') return end('SSE_BAD_RESPONSE');
          if (response.status !== 200) return end(`HTTP_${response.status}`);
          const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
          if (contentType !== 'text/event-stream') return end('SSE_BAD_CONTENT_TYPE');
          const framing = framingOf(response.headers);
          if (framing === 'bad') return end('SSE_BAD_RESPONSE');
          clearTimeout(headTimer);
          body = new BodyReader(framing, (bytes, from, to) => parser.feed(decoder.decode(bytes.subarray(from, to), STREAM)));
          if (spec.openEvent === null) opened();
          readBody(response.rest, 0, response.rest.length);
        };
        const request = requestHead(url, ['Accept: text/event-stream', 'Cache-Control: no-cache'], spec.headers(cursor));
        const socket = connectRaw({ url, ...(context.localAddress ? { localAddress: context.localAddress } : {}) }, () => socket.write(request), onBytes);
        socket.on('error', (error: Error & { code?: string }) => end(error.code ?? 'SSE_DISCONNECTED'));
        socket.on('close', () => end('SSE_DISCONNECTED'));
        // Only the response head is under the connect timeout; the stream itself may last for hours.
        const headTimer = setTimeout(() => end('SSE_CONNECT_TIMEOUT'), context.connectTimeoutMs);
        return {
          stop: () => {
            lost('INTERRUPTED');
            end('INTERRUPTED');
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    return subscriptionOf(loop, state);
  },
};
