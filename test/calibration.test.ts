import { describe, expect, it } from 'vitest';
import { measureFloor } from '../bench/calibration.js';
import { measureBareReceiver } from '../bench/bare-receiver.js';

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
      const cost = await measureBareReceiver(kind, 20, 20, 1.5, 0.5);
      // 20 messages a second over the last second: 20 (at least 19 on a slow timer) to each of 20 sockets.
      expect(cost.deliveries, kind).toBeGreaterThanOrEqual(19 * 20);
      // A message read by none would leave reads short; SSE keep-alives can only add reads.
      expect(cost.reads, kind).toBeGreaterThanOrEqual(cost.deliveries);
      expect(cost.receiverCpuMs, kind).toBeGreaterThan(0);
      expect(cost.serverCpuMs, kind).toBeGreaterThanOrEqual(0);
    }
  });
});
