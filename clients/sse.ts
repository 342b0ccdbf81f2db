import { BodyReader, framingOf } from './http-body.js';
import { DeliveryState } from './delivery.js';
import { HeadReader, connectRaw, requestHead } from './raw-socket.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import { SseParser } from './sse-parser.js';
import { type HttpProtocol, connectH2, getStream, offerH2 } from './h2.js';
import type { ClientContext, SseSpec, SubscriberHandlers, Subscription, TransportClient } from './types.js';

/** One options object for every decode, not one per event. */
const STREAM = { stream: true } as const;

/** Why a response head cannot start an event stream, as a browser's EventSource judges it; null when it can. */
function refusedHead(status: number, contentTypeHeader: string | undefined): string | null {
  if (status !== 200) return `HTTP_${status}`;
  const contentType = (contentTypeHeader ?? '').split(';')[0]!.trim().toLowerCase();
  return contentType === 'text/event-stream' ? null : 'SSE_BAD_CONTENT_TYPE';
}

const REQUEST_HEADERS = { accept: 'text/event-stream', 'cache-control': 'no-cache' } as const;

/**
 * SSE subscriber on a bare socket (raw-socket.ts): one GET, the response head checked as a browser's
 * EventSource checks it (200 and `text/event-stream`, else the connection fails: `HTTP_<status>`,
 * `SSE_BAD_CONTENT_TYPE`), the body de-chunked (http-body.ts), decoded as streamed UTF-8 and read
 * by the standard's event-stream rules (sse-parser.ts). With `--http2` and an https target that
 * offers h2, the same stream is one h2 stream on the subscriber's own session (h2.ts). One
 * connection per EventSource; rtbench closes it on the first error or end of stream and reconnects
 * through the shared loop, so the wait is jittered like the other transports' and resume can be
 * switched off to reproduce the study's clients.
 */
export const sseClient: TransportClient<'sse'> = {
  name: 'sse',
  subscribe(context: ClientContext, spec: SseSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    const listened = new Set(spec.events);
    let protocol: HttpProtocol | null = null;
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const cursor = state.resumeFrom(context.resume);
        const url = new URL(spec.url(cursor));
        const decoder = new TextDecoder('utf-8');
        let receivedUs = 0;
        let ended = false;
        const parser = new SseParser((event) => {
          if (event.type === spec.openEvent) opened();
          if (listened.has(event.type)) state.deliver(spec.read(event, state.cursor), receivedUs);
        });
        const feed = (bytes: Buffer, from: number, to: number): void => parser.feed(decoder.decode(bytes.subarray(from, to), STREAM));
        let close = (): void => {};
        const end = (code: string): void => {
          if (ended) return;
          ended = true;
          clearTimeout(headTimer);
          lost(code);
          close();
        };
        const streamOpened = (): void => {
          clearTimeout(headTimer);
          if (spec.openEvent === null) opened();
        };
        const overH1 = (): void => {
          protocol = url.protocol === 'https:' ? 'http/1.1' : null;
          const head = new HeadReader();
          let body: BodyReader | null = null;
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
            const refused = refusedHead(response.status, response.headers.get('content-type'));
            if (refused) return end(refused);
            const framing = framingOf(response.headers);
            if (framing === 'bad') return end('SSE_BAD_RESPONSE');
            streamOpened();
            body = new BodyReader(framing, feed);
            readBody(response.rest, 0, response.rest.length);
          };
          const request = requestHead(url, [], { ...REQUEST_HEADERS, ...spec.headers(cursor) });
          const socket = connectRaw({ url, ...(context.localAddress ? { localAddress: context.localAddress } : {}) }, () => socket.write(request), onBytes);
          socket.on('error', (error: Error & { code?: string }) => end(error.code ?? 'SSE_DISCONNECTED'));
          socket.on('close', () => end('SSE_DISCONNECTED'));
          close = () => socket.destroy();
        };
        const overH2 = (): void => {
          const connecting = connectH2(url, { connectTimeoutMs: context.connectTimeoutMs, ...(context.localAddress ? { localAddress: context.localAddress } : {}) });
          close = () => connecting.cancel();
          connecting.session.then(
            (session) => {
              if (ended) return void session?.destroy();
              if (session === null) return overH1();
              protocol = 'h2';
              close = () => session.destroy();
              session.on('error', (error: Error & { code?: string }) => end(error.code ?? 'SSE_DISCONNECTED'));
              session.on('close', () => end('SSE_DISCONNECTED'));
              let streaming = false;
              getStream(session, url, { ...REQUEST_HEADERS, ...spec.headers(cursor) }, {
                response: (headers) => {
                  const refused = refusedHead(Number(headers[':status']), headers['content-type']);
                  if (refused) return end(refused);
                  streaming = true;
                  streamOpened();
                },
                body: (data, start, finish, stampUs) => {
                  receivedUs = stampUs;
                  if (ended || !streaming) return;
                  feed(data, start, finish);
                  if (parser.broken !== null) end(parser.broken);
                },
                end: (code) => end(code ?? 'SSE_DISCONNECTED'),
              });
            },
            (error: Error & { code?: string }) => end(error.code ?? 'SSE_DISCONNECTED'),
          );
        };
        if (offerH2(url, context.http2 === true)) overH2();
        else overH1();
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
    const subscription = subscriptionOf(loop, state);
    return { ...subscription, stats: () => ({ ...subscription.stats(), protocol }) };
  },
};
