import { DeliveryState } from './delivery.js';
import { KeepAliveConnection } from './keep-alive-http.js';
import { PollConnection } from './h2-polls.js';
import { offerH2 } from './h2.js';
import { LongPollSends } from './long-poll-sends.js';
import { ConnectionLoop, subscriptionOf } from './reconnect.js';
import type { ClientContext, LongPollSpec, PollRequest, SendText, SubscriberHandlers, Subscription, TransportClient } from './types.js';

/**
 * Long-polling subscriber: one poll after another, each answered by the server when it has
 * something (or after its hold). With resume, each poll carries the cursor (contract A's `since`,
 * nchan's If-Modified-Since/If-None-Match), so a message published between two polls is answered by
 * the next one; without it, as in the study, such a message is lost.
 */
export const longPollingClient: TransportClient<'long-polling'> = {
  name: 'long-polling',
  subscribe(context: ClientContext, spec: LongPollSpec, handlers: SubscriberHandlers): Subscription {
    const state = new DeliveryState(handlers);
    const socketOpened = new Set<() => void>();
    // One connection per subscriber, as a browser holds one: polls go out one after another on it.
    // (A shared keep-alive pool opened new sockets when thousands of answers landed at once, about
    // 1.6 per subscriber at 5,000, which ran a 10,000-subscriber generator out of descriptors.)
    // With --http2 and an https target, the polls go as streams of an h2 session when the server agrees (h2-polls.ts).
    const origin = new URL(spec.poll(null).url);
    const connectionOptions = { connectTimeoutMs: context.connectTimeoutMs, ...(context.localAddress ? { localAddress: context.localAddress } : {}) };
    const onSocketOpen = (): void => {
      for (const wake of socketOpened) wake();
      socketOpened.clear();
    };
    const connection: PollConnection | KeepAliveConnection = offerH2(origin, context.http2 === true)
      ? new PollConnection(origin, connectionOptions, onSocketOpen)
      : new KeepAliveConnection(origin, connectionOptions, onSocketOpen);

    const sends = spec.sendRequest
      ? new LongPollSends(
          new URL(spec.poll(null).url),
          { connectTimeoutMs: context.connectTimeoutMs, ...(context.localAddress ? { localAddress: context.localAddress } : {}) },
          spec.sendRequest.bind(spec),
          (texts) => (state.sends += texts),
          (code) => handlers.onError?.(code),
        )
      : null;
    const send: SendText = sends ? (text) => sends.send(text) : () => handlers.onError?.('LP_SEND_UNSUPPORTED');

    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        // One "connection" of a long poll is a chain of polls that ends at the first failure.
        let stopped = false;
        sends?.reset();
        const pollOnce = async (request: PollRequest, limitMs: number, answered?: () => void, probe = false): Promise<void> => {
          // Stamped when its last byte came off the socket; read here, after that turn's reads.
          const answer = await connection.get(request.url, { accept: 'application/json', ...request.headers }, limitMs);
          if (stopped) return;
          const delivery = probe && spec.readProbe ? spec.readProbe(answer) : spec.read(answer, state.cursor, send);
          // An answer the profile does not accept ends this chain; the loop reconnects.
          if (delivery.ends) throw Object.assign(new Error(delivery.error ?? 'LP_REFUSED'), { code: delivery.error ?? 'LP_REFUSED' });
          // Counted as connected before the answer's messages are handed on, as the other transports are.
          answered?.();
          state.deliver(delivery, answer.receivedUs);
        };
        const run = async (): Promise<void> => {
          if (spec.open) {
            await spec.open((request) => connection.get(request.url, { accept: 'application/json', ...request.headers }, context.connectTimeoutMs), send);
            if (stopped) return;
          }
          if (spec.probe) {
            // A held poll gives no sign that it reached the server, so each chain starts with a poll
            // the server answers at once: it proves the connection works before it counts as open
            // (without it, every refused reconnect attempt would count as a connection).
            await pollOnce(spec.probe(state.resumeFrom(context.resume)), context.connectTimeoutMs, opened, true);
          } else if (spec.open || connection.socketUp) opened();
          else socketOpened.add(opened);
          while (!stopped) await pollOnce(spec.poll(state.resumeFrom(context.resume)), spec.pollLimitMs);
        };
        run().catch((error: unknown) => {
          socketOpened.delete(opened);
          const code = (error as { code?: string })?.code;
          lost(stopped ? 'INTERRUPTED' : typeof code === 'string' ? code : 'LP_ERROR');
        });
        return {
          stop: () => {
            lost('INTERRUPTED');
            stopped = true;
            connection.abort();
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    const subscription = subscriptionOf(loop, state);
    const httpsOrigin = origin.protocol === 'https:';
    return {
      ...subscription,
      stats: () => ({ ...subscription.stats(), protocol: connection instanceof PollConnection ? connection.protocol : httpsOrigin ? 'http/1.1' : null }),
      close: async () => {
        await subscription.close();
        sends?.reset();
        connection.abort();
      },
    };
  },
};
