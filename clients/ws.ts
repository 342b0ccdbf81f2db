import WebSocket from 'ws';
import { nowUs } from '../bench/clock.js';
import { ConnectionLoop, cursorAfterGap, subscriptionOf } from './reconnect.js';
import type { ClientContext, SubscriberHandlers, Subscription, TransportClient } from './types.js';
import { endpoint, roomPath } from './url.js';

function wsUrl(context: ClientContext, chatRoomId: string, since: number | undefined): string {
  const url = endpoint(context.baseUrl, roomPath('ws', chatRoomId), { since });
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** WebSocket subscriber: one text frame per message; reconnects with `since=<last id>` when resuming. */
export const wsClient: TransportClient = {
  name: 'ws',
  subscribe(context: ClientContext, chatRoomId: string, handlers: SubscriberHandlers): Subscription {
    let lastId = 0;
    let gaps = 0;
    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        const since = context.resume && lastId > 0 ? lastId : undefined;
        const socket = new WebSocket(wsUrl(context, chatRoomId, since), {
          headers: { ...context.headers },
          handshakeTimeout: context.connectTimeoutMs,
          perMessageDeflate: false,
          ...(context.localAddress ? { localAddress: context.localAddress } : {}),
        });
        socket.on('open', opened);
        socket.on('message', (data, isBinary) => {
          const receivedUs = nowUs();
          if (isBinary) return handlers.onError?.('WS_BINARY_FRAME');
          let frame: unknown;
          try {
            frame = JSON.parse(data.toString());
          } catch {
            return handlers.onError?.('WS_BAD_FRAME');
          }
          if (!frame || typeof frame !== 'object') return handlers.onError?.('WS_BAD_FRAME');
          const record = frame as Record<string, unknown>;
          if (record.type === 'gap') {
            gaps++;
            lastId = cursorAfterGap(Number(record.from));
            return handlers.onGap?.(Number(record.from), Number(record.to));
          }
          if (typeof record.id !== 'number' || typeof record.content !== 'string') return handlers.onError?.('WS_BAD_FRAME');
          if (record.id > lastId) lastId = record.id;
          handlers.onMessage(record.content, receivedUs, record.id);
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
    return subscriptionOf(loop, () => ({ gaps, lastId }));
  },
};
