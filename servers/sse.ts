import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import { type Bus, type Published, deliverOnce, framed } from './bus.js';
import { type RoomParams, roomParamsSchema, sendError, sinceSchema } from './http-errors.js';
import { bufferedBytes, isClosed } from './raw-response.js';

export interface SsePluginOptions {
  readonly bus: Bus;
  /** Comment line `: ping` sent to every stream this often, by one shared timer. */
  readonly heartbeatMs: number;
  /** The `retry:` hint sent at the start of each stream. */
  readonly retryMs: number;
  readonly maxBufferedBytes: number;
}

function messageFrame(published: Published): string {
  return `event: message\nid: ${published.message.id}\ndata: ${published.json}\n\n`;
}

function parseLastEventId(header: string | string[] | undefined): number | null | 'invalid' {
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text === '') return null;
  if (!/^\d{1,15}$/.test(text)) return 'invalid';
  return Number(text);
}

/** `GET /sse/chat-rooms/{R}/messages[?since=N]`, resume also through the standard `Last-Event-ID`. */
export const ssePlugin: FastifyPluginAsync<SsePluginOptions> = async (app, options) => {
  const { bus, heartbeatMs, retryMs, maxBufferedBytes } = options;
  const streams = new Set<ServerResponse>();

  // One timer for every stream, not one per connection.
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    for (const stream of streams) stream.end();
    streams.clear();
  });

  app.get<{ Params: RoomParams; Querystring: { since?: number } }>(
    '/sse/chat-rooms/:chatRoomId/messages',
    {
      schema: {
        params: roomParamsSchema,
        querystring: { type: 'object', properties: { since: sinceSchema } },
      },
    },
    (request, reply) => {
      const { chatRoomId } = request.params;
      const lastEventId = parseLastEventId(request.headers['last-event-id']);
      if (lastEventId === 'invalid') {
        return sendError(reply, 400, 'INVALID_FIELD', 'Last-Event-ID must be a non-negative integer message id');
      }
      const candidates = [request.query.since, lastEventId].filter((v): v is number => typeof v === 'number');
      const since = candidates.length > 0 ? Math.max(...candidates) : null;

      reply.hijack();
      const stream = reply.raw;
      // HTTP/2 forbids connection headers, and its socket is the whole session's, already set not to delay.
      const overHttp2 = request.raw.httpVersionMajor >= 2;
      stream.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        ...(overHttp2 ? {} : { connection: 'keep-alive' }),
        'x-accel-buffering': 'no',
      });
      if (!overHttp2) stream.socket?.setNoDelay(true);
      const send = deliverOnce((published: Published): void => {
        if (isClosed(stream)) return;
        if (bufferedBytes(stream) > maxBufferedBytes) {
          stream.destroy();
          return;
        }
        stream.write(framed(published, 'sse', messageFrame));
      });
      stream.write(`retry: ${retryMs}\n\nevent: connected\ndata: ${JSON.stringify({ chatRoomId, since })}\n\n`);
      const unsubscribe = bus.follow(chatRoomId, since, {
        replay: (replay) => {
          if (replay.gap && !isClosed(stream)) stream.write(`event: gap\ndata: ${JSON.stringify(replay.gap)}\n\n`);
          for (const published of replay.messages) send(published);
        },
        live: send,
        fail: () => stream.destroy(),
      });
      streams.add(stream);
      stream.on('close', () => {
        unsubscribe();
        streams.delete(stream);
      });
    },
  );
};
