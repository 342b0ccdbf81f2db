import { heapAfterGc } from '../core/heap.js';
import type { SampleRow } from '../core/result.js';

/**
 * Rows made afresh on every pass (as a SampleLog reads its older rows back from disk), with V8's heap
 * read after a full GC early in each pass and again at its last row: what a reader of the rows keeps
 * while it reads shows as growth between the two. Made fresh and dropped, rows leave nothing; kept in
 * an array, 60,000 of them are about 10 MiB.
 */
export class RetentionProbe implements Iterable<SampleRow> {
  /** Heap after GC at the last row minus at the 1,000th, per pass. */
  readonly growthBytes: number[] = [];

  constructor(private readonly count: number) {}

  *[Symbol.iterator](): Iterator<SampleRow> {
    let earlyBytes = 0;
    for (let i = 0; i < this.count; i++) {
      if (i === 1000) earlyBytes = heapAfterGc().usedBytes;
      if (i === this.count - 1) this.growthBytes.push(heapAfterGc().usedBytes - earlyBytes);
      yield {
        elapsedS: i, measuring: i > 10, step: null, connections: 1000, messagesSent: i, messagesReceived: i * 1000, serverCpuPct: 3.5, serverRssBytes: 80e6 + i,
        generatorCpuPct: 2.5, generatorRssBytes: 150e6 + i, proxyCpuPct: null, proxyRssBytes: null, eventLoopDelayP99Us: null, generatorCpuWaitUs: i % 1000,
      };
    }
  }
}
