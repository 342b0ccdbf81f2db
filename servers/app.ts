import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { TRANSPORTS, type TransportName } from '../core/transports.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './memory-bus.js';
import { RedisBus } from './redis-bus.js';
import { registerErrorHandlers } from './http-errors.js';
import { longPollingPlugin } from './long-polling.js';
import { messagesPlugin } from './messages.js';
import { ssePlugin } from './sse.js';
import { stompPlugin } from './stomp.js';
import { wsPlugin } from './ws.js';

export { TRANSPORTS, type TransportName };

export interface ServerOptions {
  /** Transports to serve; publish, history and health are always served. */
  readonly transports: readonly TransportName[];
  readonly historyLimit: number;
  readonly heartbeatMs: number;
  readonly sseRetryMs: number;
  readonly longPollTimeoutMs: number;
  /** STOMP heart-beat the server offers and expects (contract A: 10 s); 0 offers none. */
  readonly stompHeartbeatMs: number;
  readonly maxBufferedBytes: number;
  /** Holds every message this long before pushing it: a server slowed on purpose (regression gate tests). */
  readonly fanOutDelayMs: number;
  /** `memory` (this process alone) or a Redis URL shared by every instance of a cluster. */
  readonly bus: string;
  /** Redis key and channel prefix: the instances of one run share it, other runs use their own. */
  readonly busPrefix: string;
  /**
   * Serve over TLS with this key and certificate, offering HTTP/2 and HTTP/1.1 (ALPN): SSE and long
   * polling then run over h2 for a client that asks for it; WebSocket and STOMP upgrade over HTTP/1.1,
   * as browsers do. Null: plain HTTP/1.1.
   */
  readonly http2: { readonly key: string; readonly cert: string } | null;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  transports: TRANSPORTS,
  historyLimit: 1000,
  heartbeatMs: 15_000,
  sseRetryMs: 1000,
  longPollTimeoutMs: 30_000,
  stompHeartbeatMs: 10_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  fanOutDelayMs: 0,
  bus: 'memory',
  busPrefix: 'rtbench',
  http2: null,
};

/** One plugin per transport of the registry; the compiler checks none is missing. */
const PLUGINS: { readonly [T in TransportName]: (app: FastifyInstance, bus: Bus, options: ServerOptions) => Promise<unknown> } = {
  ws: async (app, bus, o) => app.register(wsPlugin, { bus, maxBufferedBytes: o.maxBufferedBytes }),
  sse: async (app, bus, o) => app.register(ssePlugin, { bus, heartbeatMs: o.heartbeatMs, retryMs: o.sseRetryMs, maxBufferedBytes: o.maxBufferedBytes }),
  'long-polling': async (app, bus, o) => app.register(longPollingPlugin, { bus, defaultTimeoutMs: o.longPollTimeoutMs }),
  stomp: async (app, bus, o) => app.register(stompPlugin, { bus, heartbeatMs: o.stompHeartbeatMs, maxBufferedBytes: o.maxBufferedBytes }),
};

/** The transports that upgrade to a WebSocket; @fastify/websocket is registered once for all of them. */
const OVER_WEBSOCKET: readonly TransportName[] = ['ws', 'stomp'];

/**
 * The same server on a TLS listener that offers h2 and http/1.1. Fastify types an HTTP/2 instance
 * apart; every plugin here reads requests and replies through what both kinds share (the SSE
 * plugin writes to `reply.raw` as either), so it is handed on as the one type.
 */
function http2Fastify(tls: { readonly key: string; readonly cert: string }): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false, http2: true, https: { allowHTTP1: true, key: tls.key, cert: tls.cert } });
  // Pushes go out as they are written, on h2 as on HTTP/1.1 (the TCP socket, before TLS).
  app.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  return app as unknown as FastifyInstance;
}

/** The reference server of contract A: every transport on one shared room bus. */
export async function buildServer(overrides: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  const options = { ...DEFAULT_SERVER_OPTIONS, ...overrides };
  const bus: Bus =
    options.bus === 'memory'
      ? new MemoryBus({ historyLimit: options.historyLimit, fanOutDelayMs: options.fanOutDelayMs })
      : await RedisBus.connect({ url: options.bus, prefix: options.busPrefix, historyLimit: options.historyLimit, fanOutDelayMs: options.fanOutDelayMs });
  // Logging is off: a reference server that logs every request would measure its logger.
  const app = options.http2 ? http2Fastify(options.http2) : Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false });
  app.addHook('onClose', async () => bus.close());
  registerErrorHandlers(app);
  if (options.transports.some((t) => OVER_WEBSOCKET.includes(t))) {
    await app.register(websocket, { options: { perMessageDeflate: false, maxPayload: 64 * 1024 } });
  }
  await app.register(messagesPlugin, { bus });
  for (const transport of options.transports) await PLUGINS[transport](app, bus, options);
  return app;
}
