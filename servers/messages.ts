import type { FastifyPluginAsync } from 'fastify';
import { userIdFrom } from './auth.js';
import type { Bus, Published, Replay } from './bus.js';
import { sendError, sinceSchema } from './http-errors.js';

export const MAX_CONTENT_CHARS = 10_000;
const HISTORY_LIMIT_MAX = 1000;

/** Counts characters as code points, so 10,000 emoji are 10,000 characters, as the contract says. */
function charCount(text: string): number {
  if (text.length <= MAX_CONTENT_CHARS) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** `GET /health`, `POST /messages` (publish) and `GET /messages` (history). */
export const messagesPlugin: FastifyPluginAsync<{ bus: Bus }> = async (app, { bus }) => {
  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/messages', async (request, reply) => {
    const body: unknown = request.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return sendError(reply, 400, 'INVALID_JSON', 'body must be a JSON object {"chatRoomId": string, "content": string}');
    }
    const { chatRoomId, content } = body as Record<string, unknown>;
    if (typeof chatRoomId !== 'string' || chatRoomId.length === 0 || chatRoomId.length > 200) {
      return sendError(reply, 400, 'INVALID_FIELD', 'chatRoomId must be a string of 1 to 200 characters');
    }
    if (typeof content !== 'string') return sendError(reply, 400, 'INVALID_FIELD', 'content must be a string');
    if (charCount(content) > MAX_CONTENT_CHARS) {
      return sendError(reply, 413, 'CONTENT_TOO_LONG', `content must be at most ${MAX_CONTENT_CHARS} characters`);
    }
    let published: Published;
    try {
      published = await bus.publish(chatRoomId, userIdFrom(request.headers.authorization), content);
    } catch {
      // Not accepted: the publisher counts it as failed, and no subscriber may be charged for it as lost.
      return sendError(reply, 503, 'BUS_UNAVAILABLE', 'the message bus is unavailable; the message was not accepted');
    }
    return reply.code(201).type('application/json; charset=utf-8').send(published.json);
  });

  app.get<{ Querystring: { chatRoomId: string; since?: number; limit?: number } }>(
    '/messages',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['chatRoomId'],
          properties: {
            chatRoomId: { type: 'string', minLength: 1, maxLength: 200 },
            since: sinceSchema,
            limit: { type: 'integer', minimum: 1, maximum: HISTORY_LIMIT_MAX },
          },
        },
      },
    },
    async (request, reply) => {
      const { chatRoomId, since = 0, limit = 100 } = request.query;
      let replay: Replay;
      try {
        replay = await bus.since(chatRoomId, since, limit);
      } catch {
        return sendError(reply, 503, 'BUS_UNAVAILABLE', 'the message bus is unavailable; retry');
      }
      if (replay.gap) reply.header('x-gap', `${replay.gap.from}-${replay.gap.to}`);
      return reply.type('application/json; charset=utf-8').send(`[${replay.messages.map((m) => m.json).join(',')}]`);
    },
  );
};
