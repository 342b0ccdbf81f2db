import { Client } from 'undici';
import { nowUs } from '../bench/clock.js';
import { ConnectionLoop, cursorAfterGap, subscriptionOf } from './reconnect.js';
import type { ClientContext, SubscriberHandlers, Subscription, TransportClient } from './types.js';
import { endpoint, roomPath } from './url.js';

/** Extra time beyond the server's hold before rtbench gives up on one poll. */
const POLL_GRACE_MS = 10_000;

/**
 * Long-polling subscriber. With resume it polls `since=<last id>` (starting from 0 in a run-unique
 * room), so a message published between two polls is answered by the next one; without resume it
 * polls with no cursor, as the seed did, and such a message is lost.
 */
export const longPollingClient: TransportClient = {
  name: 'long-polling',
  subscribe(context: ClientContext, chatRoomId: string, handlers: SubscriberHandlers): Subscription {
    let lastId = 0;
    let gaps = 0;
    const path = roomPath('long-polling', chatRoomId);
    // One connection per subscriber, as a browser holds one: polls go out one after another on it.
    // A shared keep-alive pool opened new sockets when thousands of answers landed at once (about
    // 1.6 per subscriber at 5,000), which ran a 10,000-subscriber generator out of descriptors.
    const origin = new URL(context.baseUrl).origin;
    const connection = new Client(origin, {
      pipelining: 1,
      keepAliveTimeout: context.pollTimeoutMs + POLL_GRACE_MS,
      connect: { timeout: context.connectTimeoutMs, ...(context.localAddress ? { localAddress: context.localAddress } : {}) },
    });

    const loop = new ConnectionLoop(
      context.reconnect,
      context.random,
      ({ opened, lost }) => {
        // One "connection" of a long poll is a chain of polls that ends at the first failure.
        const controller = new AbortController();
        const pollOnce = async (probe: boolean, answered?: () => void): Promise<void> => {
          const url = endpoint(context.baseUrl, path, {
            since: context.resume ? lastId : undefined,
            timeout: probe ? 0 : context.pollTimeoutMs,
          });
          const response = await connection.request({
            path: url.pathname + url.search,
            method: 'GET',
            headers: { ...context.headers, accept: 'application/json' },
            signal: controller.signal,
            headersTimeout: probe ? context.connectTimeoutMs : context.pollTimeoutMs + POLL_GRACE_MS,
            bodyTimeout: context.pollTimeoutMs + POLL_GRACE_MS,
          });
          const text = await response.body.text();
          const receivedUs = nowUs();
          if (response.statusCode !== 200) throw Object.assign(new Error(`HTTP ${response.statusCode}`), { code: `HTTP_${response.statusCode}` });
          // Counted as connected before the answer's messages are handed on, as the other transports are.
          answered?.();
          const gap = response.headers['x-gap'];
          if (typeof gap === 'string') {
            const [from, to] = gap.split('-').map(Number);
            gaps++;
            lastId = cursorAfterGap(from ?? lastId + 1);
            handlers.onGap?.(from ?? 0, to ?? 0);
          }
          const messages: unknown = JSON.parse(text);
          if (!Array.isArray(messages)) throw Object.assign(new Error('poll answer is not an array'), { code: 'LP_BAD_BODY' });
          for (const message of messages as Array<Record<string, unknown>>) {
            if (typeof message?.id !== 'number' || typeof message.content !== 'string') {
              handlers.onError?.('LP_BAD_MESSAGE');
              continue;
            }
            if (message.id > lastId) lastId = message.id;
            handlers.onMessage(message.content, receivedUs, message.id);
          }
        };
        const run = async (): Promise<void> => {
          // A held poll gives no sign that it reached the server, so each chain starts with a
          // `timeout=0` poll: its prompt answer proves the connection works before it counts as
          // open (without the probe, every refused reconnect attempt would count as a connection).
          await pollOnce(true, opened);
          while (!controller.signal.aborted) await pollOnce(false);
        };
        run().catch((error: unknown) => {
          const code = (error as { code?: string })?.code;
          lost(controller.signal.aborted ? 'INTERRUPTED' : typeof code === 'string' ? code : 'LP_ERROR');
        });
        return {
          stop: () => {
            lost('INTERRUPTED');
            controller.abort();
          },
        };
      },
      (code) => handlers.onError?.(code),
    );
    const subscription = subscriptionOf(loop, () => ({ gaps, lastId }));
    return {
      ...subscription,
      close: async () => {
        await subscription.close();
        await connection.destroy().catch(() => {});
      },
    };
  },
};
