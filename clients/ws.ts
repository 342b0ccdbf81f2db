import WebSocket from 'ws';
import { nowUs } from '../core/clock.js';
import { DeliveryState } from './delivery.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import type { ClientContext, SubscriberHandlers, Subscription, TransportClient, WsSpec } from './types.js';

/** WebSocket subscriber: each text frame is read by the profile; reconnects resume from its cursor. */
export const wsClient: TransportClient<'ws'> = {
  name: 'ws',
  subscribe(context: ClientContext, spec: WsSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const cursor = state.resumeFrom(context.resume);
        const socket = new WebSocket(spec.url(cursor), spec.protocols ? [...spec.protocols] : [], {
          headers: { ...spec.headers },
          handshakeTimeout: context.connectTimeoutMs,
          perMessageDeflate: false,
          ...(context.localAddress ? { localAddress: context.localAddress } : {}),
        });
        socket.on('open', opened);
        socket.on('message', (data, isBinary) => {
          const receivedUs = nowUs();
          if (isBinary) return handlers.onError?.('WS_BINARY_FRAME');
          state.deliver(spec.read(data.toString(), state.cursor), receivedUs);
        });
        socket.on('unexpected-response', (_request, response) => {
          lost(`HTTP_${response.statusCode ?? 0}`);
          response.resume();
          socket.terminate();
        });
        socket.on('error', (error: Error & { code?: string }) => lost(error.code ?? 'WS_ERROR'));
        socket.on('close', (code) => lost(code === 1000 ? 'WS_CLOSED' : `WS_CLOSE_${code}`));
        return {
          stop: () => {
            lost('INTERRUPTED');
            socket.terminate();
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    return subscriptionOf(loop, state);
  },
};
