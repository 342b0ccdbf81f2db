import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { type Bus, type Gap, type Published, deliverOnce, framed } from './bus.js';
import { type RoomParams, roomParamsSchema, sinceSchema } from './http-errors.js';

export interface WsPluginOptions {
  readonly bus: Bus;
  /** A subscriber whose unsent bytes pass this is dropped; it resumes with `since` when it reconnects. */
  readonly maxBufferedBytes: number;
}

const OPEN = 1;

const jsonText = (published: Published): string => published.json;

function gapFrame(gap: Gap): string {
  return JSON.stringify({ type: 'gap', from: gap.from, to: gap.to });
}

/** `GET /ws/chat-rooms/{R}/messages[?since=N]`: one text frame per message, the message JSON. */
export const wsPlugin: FastifyPluginAsync<WsPluginOptions> = async (app, { bus, maxBufferedBytes }) => {
  app.get<{ Params: RoomParams; Querystring: { since?: number } }>(
    '/ws/chat-rooms/:chatRoomId/messages',
    {
      websocket: true,
      schema: {
        params: roomParamsSchema,
        querystring: { type: 'object', properties: { since: sinceSchema } },
      },
    },
    (socket: WebSocket, request) => {
      const { chatRoomId } = request.params;
      const send = deliverOnce((published: Published): void => {
        if (socket.readyState !== OPEN) return;
        if (socket.bufferedAmount > maxBufferedBytes) {
          socket.terminate();
          return;
        }
        // The same UTF-8 Buffer for every socket: ws adds a frame header and writes it without copying.
        socket.send(framed(published, 'ws', jsonText), { binary: false, compress: false });
      });
      const unsubscribe = bus.follow(chatRoomId, request.query.since ?? null, {
        replay: (replay) => {
          if (replay.gap && socket.readyState === OPEN) socket.send(gapFrame(replay.gap));
          for (const published of replay.messages) send(published);
        },
        live: send,
        // 1011: the server cannot go on; the client reconnects and resumes, maybe on another instance.
        fail: () => socket.close(1011, 'bus unavailable'),
      });
      socket.on('close', unsubscribe);
      socket.on('error', () => socket.terminate());
      // Clients never send anything meaningful; ignore their frames rather than fail.
      socket.on('message', () => {});
    },
  );
};
