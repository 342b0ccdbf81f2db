import { describe, expect, it } from 'vitest';
import { measureFloor } from '../bench/calibration.js';

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
});
