import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

/**
 * Contract A's error shape, `{"error": {"code", "message"}}`, for every 4xx the servers answer,
 * including the ones Fastify raises itself (bad JSON, schema validation, unknown path).
 */
export function sendError(reply: FastifyReply, statusCode: number, code: string, message: string): FastifyReply {
  return reply.code(statusCode).type('application/json; charset=utf-8').send({ error: { code, message } });
}

const CODE_BY_FASTIFY_CODE: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'CONTENT_TOO_LONG',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
};

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return sendError(reply, 400, 'INVALID_FIELD', error.message);
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 400 && statusCode < 500) {
      const code = CODE_BY_FASTIFY_CODE[error.code] ?? (error instanceof SyntaxError ? 'INVALID_JSON' : 'INVALID_REQUEST');
      return sendError(reply, statusCode, code, error.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'INTERNAL', 'internal server error');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `no route for ${request.method} ${request.url}`));
}

/** Query and path schemas shared by the subscribe routes (Fastify coerces query strings to integers). */
export const roomParamsSchema = {
  type: 'object',
  required: ['chatRoomId'],
  properties: { chatRoomId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export const sinceSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export interface RoomParams {
  chatRoomId: string;
}
