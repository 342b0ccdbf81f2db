import { Client, type IFrame } from '@stomp/stompjs';
import WebSocket from 'ws';
import { nowUs } from '../core/clock.js';
import { DeliveryState } from './delivery.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import type { ClientContext, StompSpec, SubscriberHandlers, Subscription, TransportClient } from './types.js';

function headersOf(frame: IFrame): Record<string, string> {
  return { ...frame.headers } as Record<string, string>;
}

/**
 * STOMP 1.2 subscriber on @stomp/stompjs over a `ws` WebSocket. stompjs negotiates heart-beats and
 * parses frames; rtbench owns the connection lifecycle (stompjs's own reconnect is off), so a STOMP
 * subscriber reconnects, resumes and counts exactly like the other transports. An ERROR frame is
 * counted by its code and followed by a reconnect; a code the profile knows (an expired session)
 * renews the session first. The subscription is known to be live only when a message arrives on it:
 * servers such as Spring's simple broker send no RECEIPT for SUBSCRIBE, so readiness is the warm-up.
 */
export const stompClient: TransportClient<'stomp'> = {
  name: 'stomp',
  subscribe(context: ClientContext, spec: StompSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    /** The code of the ERROR that ended the last connection, to renew the session before the next. */
    let lastErrorCode: string | null = null;
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        let stomp: Client | null = null;
        let stopped = false;
        const start = async (): Promise<void> => {
          if (lastErrorCode !== null && spec.renew) await spec.renew(lastErrorCode);
          lastErrorCode = null;
          if (stopped) return;
          const cursor = state.resumeFrom(context.resume);
          stomp = new Client({
            webSocketFactory: () =>
              new WebSocket(spec.url(cursor), spec.protocols ? [...spec.protocols] : [], {
                headers: { ...spec.headers },
                handshakeTimeout: context.connectTimeoutMs,
                perMessageDeflate: false,
                ...(context.localAddress ? { localAddress: context.localAddress } : {}),
              }),
            connectHeaders: { ...spec.connectHeaders() },
            heartbeatIncoming: spec.heartbeatMs,
            heartbeatOutgoing: spec.heartbeatMs,
            connectionTimeout: context.connectTimeoutMs,
            reconnectDelay: 0,
            debug: () => {},
            onConnect: () => {
              stomp?.subscribe(
                spec.destination,
                (frame) => {
                  const receivedUs = nowUs();
                  state.deliver(spec.read({ body: frame.body, headers: headersOf(frame) }, state.cursor), receivedUs);
                },
                { ...spec.subscribeHeaders(cursor) },
              );
              opened();
            },
            // An ERROR ends the session (STOMP 1.2): the loss is counted once, by the ERROR's code.
            onStompError: (frame) => {
              lastErrorCode = spec.errorCode({ body: frame.body, headers: headersOf(frame) });
              void stomp?.deactivate({ force: true });
            },
            onWebSocketClose: (event: { code?: number }) => lost(lastErrorCode !== null ? `STOMP_ERROR:${lastErrorCode}` : `WS_CLOSE_${event.code ?? 0}`),
            onWebSocketError: () => lost('WS_ERROR'),
          });
          stomp.activate();
        };
        start().catch((error: unknown) => lost((error as { code?: string })?.code ?? 'STOMP_RENEW_FAILED'));
        return {
          stop: () => {
            stopped = true;
            lost('INTERRUPTED');
            void stomp?.deactivate({ force: true });
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    return subscriptionOf(loop, state);
  },
};
