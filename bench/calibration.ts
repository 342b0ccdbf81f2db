import http from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startChild } from '../engine/child.js';
import { nowUs } from '../core/clock.js';
import { type LatencyStats, latencyStats, newHistogram, recordUs } from '../core/histogram.js';
import { distEntry } from '../core/paths.js';

export interface FloorOptions {
  readonly subscribers: number;
  readonly bursts: number;
  readonly burstSize: number;
  readonly gapMs: number;
  readonly pauseMs: number;
}

/**
 * Times the raw floor: the bare server of floor-server.ts, 10 bare `ws` subscribers and a bare
 * keep-alive node:http publisher, on the burst schedule. Each body is the send time on the shared
 * clock, taken just before the request is written, so the floor is the fastest this machine moves
 * a POSTed message to 10 WebSockets, with no scheduling, matching or framework cost at all.
 */
export async function measureFloor(options: FloorOptions): Promise<LatencyStats> {
  const server = await startChild('floor server', distEntry('bench/floor-server.js'), []);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const sockets: WebSocket[] = [];
  try {
    const histogram = newHistogram();
    let received = 0;
    const expected = options.subscribers * options.bursts * options.burstSize;
    let allReceived: () => void = () => {};
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    for (let i = 0; i < options.subscribers; i++) {
      const socket = new WebSocket(server.url.replace('http', 'ws'), { perMessageDeflate: false });
      socket.on('message', (data) => {
        recordUs(histogram, nowUs() - Number(data.toString()));
        if (++received === expected) allReceived();
      });
      sockets.push(socket);
      await once(socket, 'open');
    }
    const post = (body: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const request = http.request(`${server.url}/publish`, { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': body.length } }, (response) => {
          response.resume();
          response.on('end', resolve);
        });
        request.on('error', reject);
        request.end(body);
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
    for (const socket of sockets) socket.terminate();
    agent.destroy();
    await server.stop();
  }
}
