import { describe, expect, it } from 'vitest';
import type { TransportResult } from '../core/result.js';
import { outRoot, runJson } from './support/cli.js';
import { detailsOf } from '../core/details.js';

const outDir = outRoot();

/** Least-squares slope of ys against their index. */
function slopePerStep(ys: readonly number[]): number {
  const n = ys.length;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let covariance = 0;
  let variance = 0;
  ys.forEach((y, x) => {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  });
  return covariance / variance;
}

/**
 * A leak in the generator (a recorder, a subscriber's state or a histogram kept per round, anything
 * kept per delivery) shows as heap that a full GC cannot free, growing with every round. RSS cannot
 * show it in a short run (V8 and the allocator keep pages), so the soak reads the heap after GC of
 * every generator thread after each round. 500 subscribers, a round every 500 ms: the second half of
 * the rounds (the first holds JIT and warm-up growth) must grow less than 24 KiB a round, which is
 * what the stored per-round results take (a few KiB) with room for noise. Keeping 48 bytes per
 * delivery, or one recorder per round, fails it.
 */
describe('generator memory', () => {
  it('stays flat over a fast soak on every transport: heap after GC grows by the stored results only', async () => {
    const summary = await runJson(['soak', '--transport', 'all', '--connections', '500', '--interval', '500ms', '--duration', '30s', '--out', outDir('soak')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling', 'stomp']);
    for (const result of summary.transports as TransportResult[]) {
      const intervals = detailsOf(result, 'soak')!.intervals;
      expect(intervals.length, result.transport).toBeGreaterThanOrEqual(50);
      const heap = intervals.map((i) => i.generatorHeapAfterGcBytes!);
      for (const bytes of heap) expect(bytes, result.transport).toBeGreaterThan(1_000_000);
      // Every round's message reached every subscriber: the heap was measured under the full load.
      const secondHalf = intervals.slice(Math.floor(intervals.length / 2));
      const received = secondHalf.reduce((n, i) => n + i.messages.received, 0);
      expect(received, result.transport).toBe(secondHalf.reduce((n, i) => n + i.messages.expected, 0));
      expect(received, result.transport).toBeGreaterThanOrEqual(secondHalf.length * 500);
      const growthPerRound = slopePerStep(heap.slice(Math.floor(heap.length / 2)));
      expect(growthPerRound, `${result.transport}: heap after GC grew ${Math.round(growthPerRound)} bytes a round`).toBeLessThan(24 * 1024);
      // Every round sends one message to the one room, counted once in the per-second samples (a new
      // round's recorder starting from zero once made those seconds negative).
      const sentPerSecond = [...result.samples].map((row) => row.messagesSent);
      expect(Math.min(...sentPerSecond), result.transport).toBeGreaterThanOrEqual(0);
      expect(sentPerSecond.reduce((a, b) => a + b, 0), result.transport).toBe(intervals.length);
      const trend = detailsOf(result, 'soak')!.generatorHeap!;
      expect(trend.startBytes).toBe(heap[1]);
      expect(trend.endBytes).toBe(heap.at(-1));
    }
  }, 400_000);
});
