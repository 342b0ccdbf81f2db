import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import { programPath } from '../core/entry-points.js';
import { startChild } from '../run/child.js';
import { testCleanup } from './helpers.js';

const cleanup = testCleanup();
const SUBSCRIBERS = 200;
const MESSAGES = 40;
const GAP_MS = 40;
/** Each message's profile read is made this much slower: stamped after handling, the 200th would be 10 ms late. */
const READ_COST_US = 50;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Publishes MESSAGES fan-outs to one room of SUBSCRIBERS held by one worker thread, from the null
 * server, which records how long its own writes to the room's sockets took; returns, per fan-out,
 * how long after the server's last write the thread stamped its last read.
 */
async function lastStampsAfterLastWrite(transport: 'bare' | 'ws' | 'sse' | 'stomp'): Promise<number[]> {
  const server = await startChild('null server', programPath('nullServer'), ['--exit-on-stdin-end']);
  cleanup.add(() => server.stop());
  const worker = new Worker(join(packageRoot, 'test', 'fixtures', 'fan-out-stamps.mjs'), { workerData: { url: server.url, transport, subscribers: SUBSCRIBERS, readCostUs: READ_COST_US } });
  cleanup.add(() => worker.terminate());
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  for (let k = 0; k < MESSAGES; k++) {
    const response = await request(`${server.url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chatRoomId: 'fan-out', content: `m${k}` }) });
    await response.body.dump();
    // Each fan-out lands on a thread that is done with the one before (10 ms of handling).
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
  const { stamps } = await new Promise<{ stamps: number[] }>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage('report');
  });
  const fanOuts = ((await (await request(`${server.url}/fan-outs`)).body.json()) as Array<{ atUs: number; deliveries: number; writeSpanUs: number }>).filter((f) => f.deliveries === SUBSCRIBERS);
  expect(fanOuts).toHaveLength(MESSAGES);
  return fanOuts.map((fanOut) => {
    const mine = stamps.filter((us) => us >= fanOut.atUs && us < fanOut.atUs + GAP_MS * 1000);
    expect(mine).toHaveLength(SUBSCRIBERS);
    return Math.max(...mine) - (fanOut.atUs + fanOut.writeSpanUs);
  });
}

/**
 * A fan-out of 200 to one subscriber thread. Each receive stamp is taken as the bytes come off the
 * socket, and handling comes after the reads in slices, so the last subscriber is stamped within
 * 1 ms of when the cheapest Node reader (plain sockets that only stamp) stamps it on this machine,
 * although a heavy profile makes handling the 200 messages take 10 ms: stamps taken after handling
 * would put it 10 ms behind. Both are timed from the null server's last write, whose own 200
 * writes take a few ms here; medians over 40 fan-outs.
 */
describe('a fan-out of 200 in one thread', () => {
  let floorUs = 0;
  it('has a floor: how long after the last write the cheapest Node reader stamps the last read', async () => {
    floorUs = median(await lastStampsAfterLastWrite('bare'));
    expect(floorUs).toBeLessThan(5_000);
  });
  for (const transport of ['ws', 'sse', 'stomp'] as const) {
    it(`stamps its last ${transport} subscriber within 1 ms of that floor, whatever handling costs`, async () => {
      const lateUs = median(await lastStampsAfterLastWrite(transport));
      expect(lateUs - floorUs).toBeLessThan(1_000);
    });
  }
});
