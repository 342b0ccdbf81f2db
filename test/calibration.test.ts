import { describe, expect, it } from 'vitest';
import { measureFloor } from '../bench/calibration.js';
import { measureBareReceiver } from '../bench/bare-receiver.js';
import { measurePublishStages } from '../bench/publish-stages.js';

describe('calibration floors (npm run bench)', () => {
  it('times every pushed message on both floors, bare server and built-in server, for every kind', async () => {
    const schedule = { subscribers: 3, bursts: 3, burstSize: 2, gapMs: 10, pauseMs: 20 };
    for (const kind of ['ws', 'sse', 'stomp'] as const) {
      for (const server of ['bare', 'reference'] as const) {
        const stats = await measureFloor(schedule, kind, server);
        // Each of 3 subscribers times each of 6 messages once; the warm-up is not counted.
        expect(stats.count, `${kind} on ${server}`).toBe(18);
        expect(stats.p50, `${kind} on ${server}`).toBeGreaterThan(0);
      }
    }
  });

  it('the bare receiver subscribes for real: every published message reaches every socket, and both sides spend CPU on it', async () => {
    for (const kind of ['ws', 'sse', 'stomp'] as const) {
      const cost = await measureBareReceiver(kind, 20, 200, 1.5, 0.5);
      // 200 messages a second over the last second, each to each of 20 sockets (a timer may slip a few).
      expect(cost.deliveries, kind).toBeGreaterThanOrEqual(190 * 20);
      expect(cost.deliveries, kind).toBeLessThanOrEqual(201 * 20);
      // A message read by none would leave reads short; SSE keep-alives can only add reads.
      expect(cost.reads, kind).toBeGreaterThanOrEqual(cost.deliveries);
      expect(cost.receiverCpuMs, kind).toBeGreaterThan(0);
      // 200 POSTs and 4,000 pushes a second cost the server well over one 10 ms clock tick.
      expect(cost.serverCpuMs, kind).toBeGreaterThan(0);
    }
  });
});

describe('where a server spends a published message (bench/publish-stages.ts)', () => {
  it('times every POST inside both servers, stages in order, the bus stage only on the built-in one, and leaves the environment as it found it', async () => {
    const before = { nodeOptions: process.env.NODE_OPTIONS, out: process.env.RTBENCH_STAGES_OUT };
    const schedule = { subscribers: 2, bursts: 2, burstSize: 2, gapMs: 10, pauseMs: 20 };
    for (const kind of ['ws', 'stomp'] as const) {
      const rows = await measurePublishStages(kind, schedule, 1);
      expect(rows.map((row) => row.server), kind).toEqual(['raw floor', 'built-in']);
      for (const row of rows) {
        // 10 warm-up POSTs and 4 timed ones, each pushed to the subscribers: every one probed.
        expect(row.posts, `${kind} ${row.server}`).toBe(14);
        expect(row.bodyEndUs, `${kind} ${row.server}`).toBeGreaterThan(0);
        expect(row.firstSendUs as number, `${kind} ${row.server}`).toBeGreaterThanOrEqual(row.bodyEndUs as number);
        expect(row.clientP50Us, `${kind} ${row.server}`).toBeGreaterThan(0);
      }
      const [raw, builtIn] = rows;
      expect(raw?.publishUs, kind).toBeNull();
      expect(builtIn?.publishUs as number, kind).toBeGreaterThanOrEqual(builtIn?.bodyEndUs as number);
      expect(builtIn?.firstSendUs as number, kind).toBeGreaterThanOrEqual(builtIn?.publishUs as number);
    }
    expect({ nodeOptions: process.env.NODE_OPTIONS, out: process.env.RTBENCH_STAGES_OUT }).toEqual(before);
  });
});
