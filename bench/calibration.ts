import http from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startChild } from '../run/child.js';
import { nowUs } from '../core/clock.js';
import { type LatencyStats, latencyStats, newHistogram, recordUs } from '../core/histogram.js';
import { programPath } from '../core/entry-points.js';

export interface FloorOptions {
  readonly subscribers: number;
  readonly bursts: number;
  readonly burstSize: number;
  readonly gapMs: number;
  readonly pauseMs: number;
}

export type FloorKind = 'ws' | 'sse' | 'stomp';

/**
 * Where a floor's bare clients connect and publish: the bare floor server's own paths, or contract A
 * on rtbench's built-in server (whose frames carry the body as `content` inside JSON).
 */
interface FloorRoutes {
  readonly ws: string;
  readonly sse: string;
  readonly stomp: string;
  readonly stompDestination: string;
  readonly publishPath: string;
  publishBody(sentUs: string): string;
  /** The POSTed body from one pushed payload; null for anything else (an SSE `connected` event). */
  contentOf(payload: string): string | null;
}

const BARE_ROUTES: FloorRoutes = { ws: '', sse: '/sse', stomp: '', stompDestination: '/topic/floor', publishPath: '/publish', publishBody: (sentUs) => sentUs, contentOf: (payload) => payload };

const REFERENCE_ROUTES: FloorRoutes = {
  ws: '/ws/chat-rooms/floor/messages',
  sse: '/sse/chat-rooms/floor/messages',
  stomp: '/stomp',
  stompDestination: '/topic/chat-rooms/floor/messages',
  publishPath: '/messages',
  publishBody: (sentUs) => JSON.stringify({ chatRoomId: 'floor', content: sentUs }),
  contentOf: (payload) => {
    const content = (JSON.parse(payload) as { content?: unknown }).content;
    return typeof content === 'string' ? content : null;
  },
};

/** One bare subscriber: calls `onBody` with each pushed body and the time it was read. */
async function floorSubscriber(kind: FloorKind, url: string, routes: FloorRoutes, onBody: (body: string, receivedUs: number) => void): Promise<() => void> {
  const deliver = (payload: string, receivedUs: number): void => {
    const content = routes.contentOf(payload);
    if (content !== null) onBody(content, receivedUs);
  };
  if (kind === 'sse') {
    const request = http.get(`${url}${routes.sse}`, { agent: false });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    response.setEncoding('utf8');
    let buffered = '';
    response.on('data', (chunk: string) => {
      const receivedUs = nowUs();
      buffered += chunk;
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split('\n').find((line) => line.startsWith('data: '));
        if (data && !event.includes('event: connected')) deliver(data.slice(6), receivedUs);
        end = buffered.indexOf('\n\n');
      }
    });
    return () => request.destroy();
  }
  const path = kind === 'ws' ? routes.ws : routes.stomp;
  const socket = new WebSocket(`${url.replace('http', 'ws')}${path}`, { perMessageDeflate: false });
  socket.on('message', (data) => {
    const receivedUs = nowUs();
    const text = data.toString();
    if (kind === 'ws') deliver(text, receivedUs);
    else if (text.startsWith('MESSAGE')) deliver(text.slice(text.indexOf('\n\n') + 2, text.lastIndexOf('\0')), receivedUs);
  });
  await once(socket, 'open');
  if (kind === 'stomp') {
    socket.send('CONNECT\naccept-version:1.2\nhost:floor\n\n\0');
    socket.send(`SUBSCRIBE\nid:0\ndestination:${routes.stompDestination}\n\n\0`);
  }
  return () => socket.terminate();
}

/**
 * Times the raw floor of one transport: the bare server of floor-server.ts, bare subscribers of
 * that transport and a bare keep-alive node:http publisher, on the burst schedule. Each body is the
 * send time on the shared clock, taken just before the request is written, so the floor is the
 * fastest this machine moves a POSTed message to the subscribers over that transport, with no
 * scheduling, matching or framework cost at all. With `server: 'reference'` the same bare clients
 * and publisher talk contract A to rtbench's built-in server instead: rtbench's p50 against that
 * floor is what the generator adds, and that floor against the bare one is what the server adds.
 */
export async function measureFloor(options: FloorOptions, kind: FloorKind = 'ws', server: 'bare' | 'reference' = 'bare'): Promise<LatencyStats> {
  const routes = server === 'bare' ? BARE_ROUTES : REFERENCE_ROUTES;
  const child =
    server === 'bare'
      ? await startChild(`floor server (${kind})`, programPath('floorServer'), [kind])
      : await startChild(`reference server (${kind})`, programPath('referenceServer'), ['--port', '0', '--exit-on-stdin-end', '--transports', kind]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const closers: Array<() => void> = [];
  try {
    const histogram = newHistogram();
    let received = 0;
    const expected = options.subscribers * options.bursts * options.burstSize;
    let allReceived: () => void = () => {};
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    for (let i = 0; i < options.subscribers; i++) {
      closers.push(
        await floorSubscriber(kind, child.url, routes, (body, receivedUs) => {
          recordUs(histogram, receivedUs - Number(body));
          if (++received === expected) allReceived();
        }),
      );
    }
    const post = (body: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const payload = routes.publishBody(body);
        const request = http.request(`${child.url}${routes.publishPath}`, { method: 'POST', agent, headers: { 'content-type': server === 'bare' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
          response.resume();
          response.on('end', resolve);
        });
        request.on('error', reject);
        request.end(payload);
      });
    // Warm the connections and the JIT as rtbench's own warm-up does; these are not timed.
    for (let i = 0; i < 10; i++) await post(String(nowUs()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    histogram.reset();
    received = 0;
    for (let burst = 0; burst < options.bursts; burst++) {
      for (let i = 0; i < options.burstSize; i++) {
        void post(String(nowUs()));
        if (i < options.burstSize - 1) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    return latencyStats(histogram);
  } finally {
    for (const close of closers) close();
    agent.destroy();
    await child.stop();
  }
}
