import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { nowUs } from '../core/clock.js';
import { longPollingClient } from '../clients/long-polling.js';
import type { LongPollSpec, Subscription } from '../clients/types.js';
import { clientContext, testCleanup, waitFor } from './helpers.js';

const cleanup = testCleanup();

/**
 * A bare HTTP/1.1 server that holds every poll and, when told, answers all of them in one loop of
 * writes: their answers become readable in the client's thread together, in one event-loop turn.
 */
async function holdingServer(): Promise<{ url: string; held: () => number; answerAll: (body: string) => void }> {
  const held: net.Socket[] = [];
  const server = net.createServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // One request at a time per connection: each complete head is one held poll.
      while (text.includes('\r\n\r\n')) {
        text = text.slice(text.indexOf('\r\n\r\n') + 4);
        held.push(socket);
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/poll`,
    held: () => held.length,
    answerAll(body) {
      for (const socket of held.splice(0)) socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    },
  };
}

describe('long-polling client', () => {
  it('stamps every answer of a turn before handing any of them on, so slow handlers do not delay the later stamps', async () => {
    const server = await holdingServer();
    const spec: LongPollSpec = {
      transport: 'long-polling',
      poll: () => ({ url: server.url, headers: {} }),
      probe: null,
      pollLimitMs: 10_000,
      read: ({ body }) => ({ messages: [{ content: body }] }),
    };
    const subscribers = 20;
    const handlerMs = 5;
    const stampsUs: number[] = [];
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < subscribers; i++) {
      subscriptions.push(
        longPollingClient.subscribe(clientContext(), spec, {
          onMessage: (_content, receivedUs) => {
            stampsUs.push(receivedUs);
            // A handler that takes a while, as hundreds of recorders in one thread together do.
            const until = nowUs() + handlerMs * 1000;
            while (nowUs() < until) {
              // busy
            }
          },
        }),
      );
    }
    cleanup.add(() => Promise.all(subscriptions.map((s) => s.close())));
    await Promise.all(subscriptions.map((s) => s.ready));
    await waitFor(() => server.held() === subscribers, 'every poll held');
    server.answerAll('hello');
    await waitFor(() => stampsUs.length === subscribers, 'every answer handled');
    // Handled inside the read, the last stamp would come after 19 handlers of 5 ms (95 ms or more).
    const spreadMs = (Math.max(...stampsUs) - Math.min(...stampsUs)) / 1000;
    expect(spreadMs).toBeLessThan((subscribers - 1) * handlerMs * 0.4);
    // Each subscriber's next poll still goes out after its answer.
    await waitFor(() => server.held() === subscribers, 'every next poll held');
  });

  it("opens a session, then POSTs what the profile sends beside the held poll: one at a time, batched, counted", async () => {
    const posts: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let polls = 0;
    let releaseFirstPost: (() => void) | null = null;
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname === '/open') return void response.end('s1');
      if (url.pathname === '/poll') {
        polls++;
        // Three messages, then the fourth poll is held: it also says the third answer was read.
        if (polls <= 3) return void response.end(`m${polls}`);
        releaseFirstPost?.();
        releaseFirstPost = null;
        return;
      }
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        posts.push(body);
        const answer = (): void => {
          inFlight--;
          response.statusCode = url.searchParams.get('sid') === 's1' ? 204 : 500;
          response.end();
        };
        // The first POST is answered only once the client has read every message: its acks wait meanwhile.
        if (posts.length === 1 && polls < 4) releaseFirstPost = answer;
        else answer();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.add(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const talking = (sidOf: (body: string) => string): LongPollSpec => {
      let sid = '';
      return {
        transport: 'long-polling',
        probe: null,
        pollLimitMs: 10_000,
        async open(get, send) {
          sid = sidOf((await get({ url: `${base}/open`, headers: {} })).body);
          send('connect');
        },
        poll: () => ({ url: `${base}/poll?sid=${sid}`, headers: {} }),
        sendRequest: (texts) => ({ url: `${base}/send?sid=${sid}`, headers: {}, body: texts.join('|') }),
        read: ({ body }, _cursor, send) => {
          send(`ack-${body}`);
          return { messages: [{ content: body }] };
        },
      };
    };
    const contents: string[] = [];
    const errors: string[] = [];
    const subscription = longPollingClient.subscribe(clientContext(), talking((body) => body), { onMessage: (content) => contents.push(content), onError: (code) => errors.push(code) });
    cleanup.add(() => subscription.close());
    await subscription.ready;
    await waitFor(() => subscription.stats().sends === 4, 'four sends answered');
    expect(posts).toEqual(['connect', 'ack-m1|ack-m2|ack-m3']);
    expect(maxInFlight).toBe(1);
    expect(contents).toEqual(['m1', 'm2', 'm3']);
    expect(errors).toEqual([]);

    // A session the server does not know: each refused POST is an error, and nothing counts as sent.
    const refused = longPollingClient.subscribe(clientContext(), talking(() => 'gone'), { onMessage: () => {}, onError: (code) => errors.push(code) });
    cleanup.add(() => refused.close());
    await waitFor(() => errors.length > 0, 'a refused send');
    expect(errors[0]).toBe('LP_SEND_HTTP_500');
    expect(refused.stats().sends).toBe(0);
  });
});
