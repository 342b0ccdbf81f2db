import { DeliveryState } from './delivery.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import { openWebSocket } from './ws-connection.js';
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
        const send = (text: string): void => {
          if (socket.send(text)) state.sends++;
          else handlers.onError?.('WS_SEND_CLOSED');
        };
        const socket = openWebSocket(
          {
            url: spec.url(cursor),
            headers: spec.headers,
            ...(spec.protocols ? { protocols: spec.protocols } : {}),
            handshakeTimeoutMs: context.connectTimeoutMs,
            ...(context.localAddress ? { localAddress: context.localAddress } : {}),
          },
          {
            open: () => {
              opened();
              spec.open?.(send);
            },
            text: (text, receivedUs) => state.deliver(spec.read(text, state.cursor, send), receivedUs),
            binary: () => handlers.onError?.('WS_BINARY_FRAME'),
            closed: (code) => lost(code),
          },
        );
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
