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

export type FloorKind = 'ws' | 'sse' | 'stomp';

/** One bare subscriber of the floor server: calls `onBody` with each pushed body and the time it was read. */
async function floorSubscriber(kind: FloorKind, url: string, onBody: (body: string, receivedUs: number) => void): Promise<() => void> {
  if (kind === 'sse') {
    const request = http.get(`${url}/sse`, { agent: false });
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
        if (event.startsWith('data: ')) onBody(event.slice(6), receivedUs);
        end = buffered.indexOf('\n\n');
      }
    });
    return () => request.destroy();
  }
  const socket = new WebSocket(url.replace('http', 'ws'), { perMessageDeflate: false });
  socket.on('message', (data) => {
    const receivedUs = nowUs();
    const text = data.toString();
    if (kind === 'ws') onBody(text, receivedUs);
    else if (text.startsWith('MESSAGE')) onBody(text.slice(text.indexOf('\n\n') + 2, text.lastIndexOf('\0')), receivedUs);
  });
  await once(socket, 'open');
  if (kind === 'stomp') {
    socket.send('CONNECT\naccept-version:1.2\nhost:floor\n\n\0');
    socket.send('SUBSCRIBE\nid:0\ndestination:/topic/floor\n\n\0');
  }
  return () => socket.terminate();
}

/**
 * Times the raw floor of one transport: the bare server of floor-server.ts, bare subscribers of
 * that transport and a bare keep-alive node:http publisher, on the burst schedule. Each body is the
 * send time on the shared clock, taken just before the request is written, so the floor is the
 * fastest this machine moves a POSTed message to the subscribers over that transport, with no
 * scheduling, matching or framework cost at all.
 */
export async function measureFloor(options: FloorOptions, kind: FloorKind = 'ws'): Promise<LatencyStats> {
  const server = await startChild(`floor server (${kind})`, distEntry('bench/floor-server.js'), [kind]);
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
        await floorSubscriber(kind, server.url, (body, receivedUs) => {
          recordUs(histogram, receivedUs - Number(body));
          if (++received === expected) allReceived();
        }),
      );
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
    for (const close of closers) close();
    agent.destroy();
    await server.stop();
  }
}
