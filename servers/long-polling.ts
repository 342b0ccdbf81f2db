import { isClosed } from './raw-response.js';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { type Bus, type Published, framed } from './bus.js';
import { type RoomParams, roomParamsSchema, sendError, sinceSchema } from './http-errors.js';

export interface LongPollingPluginOptions {
  readonly bus: Bus;
  /** How long a poll is held when the request gives no `timeout`. */
  readonly defaultTimeoutMs: number;
}

const MAX_TIMEOUT_MS = 300_000;

function pollBody(published: Published): string {
  return `[${published.json}]`;
}

/**
 * `GET /long-polling/chat-rooms/{R}/messages[?since=N][&timeout=MS]`.
 *
 * With `since` nothing is lost: kept messages newer than N are answered at once. Without it the
 * route reproduces the seed's proof of concept: only messages published while this request waits.
 */
export const longPollingPlugin: FastifyPluginAsync<LongPollingPluginOptions> = async (app, { bus, defaultTimeoutMs }) => {
  const waiting = new Set<() => void>();

  app.addHook('preClose', async () => {
    for (const answerEmpty of [...waiting]) answerEmpty();
  });

  app.get<{ Params: RoomParams; Querystring: { since?: number; timeout?: number } }>(
    '/long-polling/chat-rooms/:chatRoomId/messages',
    {
      schema: {
        params: roomParamsSchema,
        querystring: {
          type: 'object',
          properties: { since: sinceSchema, timeout: { type: 'integer', minimum: 0, maximum: MAX_TIMEOUT_MS } },
        },
      },
    },
    (request, reply) => {
      const { chatRoomId } = request.params;
      const { since, timeout = defaultTimeoutMs } = request.query;
      const json = (body: string | Buffer): FastifyReply => reply.type('application/json; charset=utf-8').send(body);

      let unsubscribe = (): void => {};
      let done = false;
      /** Answers the poll once: by a message, the replay, the timeout, shutdown or a bus failure. */
      const settle = (answer: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        waiting.delete(answerEmpty);
        if (!reply.sent && !isClosed(reply.raw)) answer();
      };
      const finish = (body: string | Buffer): void => settle(() => json(body));
      // Node keeps one timer list per duration, so equal per-request timeouts share one underlying timer.
      const timer = setTimeout(() => finish('[]'), timeout);
      const answerEmpty = (): void => finish('[]');
      waiting.add(answerEmpty);
      // With `since`, kept messages newer than it are answered at once; otherwise the next one published.
      unsubscribe = bus.follow(chatRoomId, since ?? null, {
        replay: (replay) => {
          if (replay.messages.length === 0 && !replay.gap) return;
          settle(() => {
            if (replay.gap) reply.header('x-gap', `${replay.gap.from}-${replay.gap.to}`);
            json(`[${replay.messages.map((m) => m.json).join(',')}]`);
          });
        },
        live: (published) => {
          if (since !== undefined && published.message.id <= since) return;
          finish(framed(published, 'long-polling', pollBody));
        },
        fail: (code) => settle(() => void sendError(reply, 503, code, 'the message bus is unavailable; retry')),
      });
      if (done) unsubscribe();
      reply.raw.on('close', () => {
        clearTimeout(timer);
        unsubscribe();
        waiting.delete(answerEmpty);
      });
      return reply;
    },
  );
};
