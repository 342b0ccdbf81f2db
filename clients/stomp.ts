import { FrameError, FrameParser, type StompFrame, negotiateHeartbeat, parseHeartbeat, serializeFrame } from '../core/stomp-frames.js';
import { DeliveryState } from './delivery.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import { type WebSocketConnection, openWebSocket } from './ws-connection.js';
import type { ClientContext, StompSpec, SubscriberHandlers, Subscription, TransportClient } from './types.js';

/** A silent server is given up on after this many of its promised heart-beat intervals (stompjs's tolerance). */
const HEARTBEAT_TOLERANCE = 2;

/**
 * STOMP 1.2 subscriber on rtbench's lean WebSocket (ws-connection.ts) with the frame codec the
 * reference server uses (core/stomp-frames.ts). It does what a browser client such as stompjs does
 * and no more: CONNECT with `accept-version:1.2` and the heart-beat offer, then SUBSCRIBE; heart-beats
 * as negotiated both ways, and the connection dropped when the server stays silent for twice its
 * promised interval; MESSAGE bodies handed to the profile. rtbench owns the lifecycle, so a STOMP
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
        let socket: WebSocketConnection | null = null;
        let stopped = false;
        const timers: NodeJS.Timeout[] = [];
        let lastServerActivityMs = 0;
        let ended = false;
        const end = (code: string): void => {
          if (ended) return;
          ended = true;
          for (const timer of timers.splice(0)) clearInterval(timer);
          lost(code);
          socket?.terminate();
        };
        const send = (command: string, headers: Readonly<Record<string, string>>, body = ''): void => {
          if (socket?.send(serializeFrame(command, headers, body))) state.sends++;
          else handlers.onError?.('STOMP_SEND_CLOSED');
        };
        const onFrame = (frame: StompFrame, receivedUs: number): void => {
          switch (frame.command) {
            case 'MESSAGE':
              state.deliver(spec.read({ body: frame.body, headers: frame.headers }, state.cursor, send), receivedUs);
              return;
            case 'CONNECTED': {
              for (const timer of timers.splice(0)) clearTimeout(timer);
              const cursor = state.resumeFrom(context.resume);
              socket?.send(serializeFrame('SUBSCRIBE', { id: 'sub-0', destination: spec.destination, ...spec.subscribeHeaders(cursor) }));
              startHeartbeats(frame.headers['heart-beat']);
              opened();
              spec.open?.(send);
              return;
            }
            case 'ERROR':
              // An ERROR ends the session (STOMP 1.2): the loss is counted once, by the ERROR's code.
              lastErrorCode = spec.errorCode({ body: frame.body, headers: frame.headers });
              end(`STOMP_ERROR:${lastErrorCode}`);
              return;
            default:
              // RECEIPT and anything newer: nothing to do for a subscriber.
              return;
          }
        };
        const startHeartbeats = (offered: string | undefined): void => {
          const server = parseHeartbeat(offered) ?? [0, 0];
          // Ours is [sends, wants] = [heartbeatMs, heartbeatMs]; negotiateHeartbeat takes the server's view.
          const { sendMs: serverSendsMs, expectMs: weSendMs } = negotiateHeartbeat(server, [spec.heartbeatMs, spec.heartbeatMs]);
          if (weSendMs > 0) timers.push(setInterval(() => socket?.send('\n'), weSendMs));
          if (serverSendsMs > 0) {
            timers.push(
              setInterval(() => {
                if (Date.now() - lastServerActivityMs > serverSendsMs * HEARTBEAT_TOLERANCE) end('STOMP_HEARTBEAT_LOST');
              }, serverSendsMs),
            );
          }
        };
        const start = async (): Promise<void> => {
          if (lastErrorCode !== null && spec.renew) await spec.renew(lastErrorCode);
          lastErrorCode = null;
          if (stopped) return;
          const parser = new FrameParser();
          // A frame may be cut mid-character across binary messages: the decoder carries the rest.
          const binaryText = new TextDecoder('utf-8');
          const read = (text: string, receivedUs: number): void => {
            lastServerActivityMs = Date.now();
            let frames: StompFrame[];
            try {
              frames = parser.push(text);
            } catch (error) {
              if (!(error instanceof FrameError)) throw error;
              // What came whole before the bad frame arrived: it is read before the connection ends.
              for (const frame of error.frames) onFrame(frame, receivedUs);
              return end(error.code);
            }
            for (const frame of frames) onFrame(frame, receivedUs);
          };
          socket = openWebSocket(
            {
              url: spec.url(state.resumeFrom(context.resume)),
              headers: spec.headers,
              ...(spec.protocols ? { protocols: spec.protocols } : {}),
              handshakeTimeoutMs: context.connectTimeoutMs,
              ...(context.localAddress ? { localAddress: context.localAddress } : {}),
            },
            {
              open: () => {
                lastServerActivityMs = Date.now();
                // A broker that accepts the WebSocket but never answers CONNECT fails the attempt, as a refused one would.
                const connectTimer = setTimeout(() => end('STOMP_CONNECT_TIMEOUT'), context.connectTimeoutMs);
                connectTimer.unref();
                timers.push(connectTimer);
                // CONNECT headers are not escaped (STOMP 1.2), so they are written as given.
                const headers = { 'accept-version': '1.2', 'heart-beat': `${spec.heartbeatMs},${spec.heartbeatMs}`, ...spec.connectHeaders() };
                socket?.send(`CONNECT\n${Object.entries(headers).map(([name, value]) => `${name}:${value}\n`).join('')}\n\0`);
              },
              text: (text, receivedUs) => read(text, receivedUs),
              // Some brokers send STOMP in binary WebSocket frames (RabbitMQ's ws_frame = binary): same bytes.
              binary: (payload, receivedUs) => read(binaryText.decode(payload, { stream: true }), receivedUs),
              closed: (code) => end(code),
            },
          );
        };
        start().catch((error: unknown) => lost((error as { code?: string })?.code ?? 'STOMP_RENEW_FAILED'));
        return {
          stop: () => {
            stopped = true;
            end('INTERRUPTED');
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    return subscriptionOf(loop, state);
  },
};
