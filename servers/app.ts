import Fastify, { type FastifyInstance } from 'fastify';
import { RoomBus } from './bus.js';
import { registerErrorHandlers } from './http-errors.js';
import { longPollingPlugin } from './long-polling.js';
import { messagesPlugin } from './messages.js';
import { ssePlugin } from './sse.js';
import { wsPlugin } from './ws.js';

export const TRANSPORTS = ['ws', 'sse', 'long-polling'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export interface ServerOptions {
  /** Transports to serve; publish, history and health are always served. */
  readonly transports: readonly TransportName[];
  readonly historyLimit: number;
  readonly heartbeatMs: number;
  readonly sseRetryMs: number;
  readonly longPollTimeoutMs: number;
  readonly maxBufferedBytes: number;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  transports: TRANSPORTS,
  historyLimit: 1000,
  heartbeatMs: 15_000,
  sseRetryMs: 1000,
  longPollTimeoutMs: 30_000,
  maxBufferedBytes: 8 * 1024 * 1024,
};

/** The reference server of contract A: every transport on one shared room bus. */
export async function buildServer(overrides: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  const options = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
  const bus = new RoomBus({ historyLimit: options.historyLimit });
  // Logging is off: a reference server that logs every request would measure its logger.
  const app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false });
  registerErrorHandlers(app);
  await app.register(messagesPlugin, { bus });
  if (options.transports.includes('ws')) {
    await app.register(wsPlugin, { bus, maxBufferedBytes: options.maxBufferedBytes });
  }
  if (options.transports.includes('sse')) {
    await app.register(ssePlugin, { bus, heartbeatMs: options.heartbeatMs, retryMs: options.sseRetryMs, maxBufferedBytes: options.maxBufferedBytes });
  }
  if (options.transports.includes('long-polling')) {
    await app.register(longPollingPlugin, { bus, defaultTimeoutMs: options.longPollTimeoutMs });
  }
  return app;
}
