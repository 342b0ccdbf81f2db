import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heapAfterGc } from '../core/heap.js';
import type { SampleRow } from '../core/result.js';
import { SampleLog } from '../run/sample-log.js';
import { jsonPieces } from '../output/stream-write.js';
import { samplesCsv } from '../output/csv.js';

/** A row with every kind of field a sample has: fractions, nulls, booleans, large integers, a step. */
function row(second: number): SampleRow {
  return {
    elapsedS: second + 0.1,
    measuring: second % 7 !== 0,
    step: second % 3 === 0 ? null : second % 5,
    connections: 1000,
    messagesSent: second % 60 === 0 ? 1 : 0,
    messagesReceived: second % 60 === 0 ? 1000 : 0,
    serverCpuPct: second % 11 === 0 ? null : (second % 97) / 10,
    serverRssBytes: 80_000_000 + second * 13,
    generatorCpuPct: 0.1 + 0.2 + second,
    generatorRssBytes: 3_000_000_000 + second,
    proxyCpuPct: null,
    proxyRssBytes: null,
    eventLoopDelayP99Us: second % 2 === 0 ? null : 1234,
    generatorCpuWaitUs: second % 13 === 0 ? null : second * 3,
  };
}

const spillFolders = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('rtbench-samples-'));

describe('SampleLog: a run\'s per-second rows with bounded memory', () => {
  it('keeps at most the newest rows in memory and gives back every row, in order and exactly, from disk and memory', () => {
    const log = new SampleLog(100, 40);
    const rows = Array.from({ length: 1234 }, (_, i) => row(i));
    for (const r of rows) {
      log.append(r);
      expect(log.inMemory).toBeLessThan(140);
    }
    expect(log.length).toBe(1234);
    expect([...log]).toEqual(rows);
    // Twice: iterating reads the file again rather than consuming it.
    expect([...log]).toEqual(rows);
    expect(log.last()).toEqual(rows.at(-1));
    expect(log.recent(10)).toEqual(rows.slice(-10));
    expect(log.recent(500)).toEqual(rows.slice(-500));
    expect(log.recent(5000)).toEqual(rows);
    log.close();
  });

  it('folds into its last row, and an iteration started before more rows are appended sees the rows of its start only', () => {
    const log = new SampleLog(10, 5);
    for (let i = 0; i < 30; i++) log.append(row(i));
    log.replaceLast({ ...row(29), messagesSent: 99 });
    expect([...log].at(-1)?.messagesSent).toBe(99);
    const iterator = log[Symbol.iterator]();
    const first = iterator.next();
    for (let i = 30; i < 60; i++) log.append(row(i));
    const seen = [first.value as SampleRow];
    for (let next = iterator.next(); !next.done; next = iterator.next()) seen.push(next.value);
    expect(seen.map((r) => r.elapsedS)).toEqual(Array.from({ length: 30 }, (_, i) => i + 0.1));
    expect(log.length).toBe(60);
    log.close();
  });

  it('drains into memory and deletes its spill folder; JSON, summary.json pieces and samples.csv read it as the array of its rows', () => {
    const before = new Set(spillFolders());
    const log = new SampleLog(20, 10);
    const rows = Array.from({ length: 200 }, (_, i) => row(i));
    for (const r of rows) log.append(r);
    const mine = spillFolders().filter((name) => !before.has(name));
    expect(mine).toHaveLength(1);
    const summary = { transports: [{ transport: 'ws', samples: log }] };
    const asArray = { transports: [{ transport: 'ws', samples: rows }] };
    expect([...jsonPieces(summary)].join('')).toBe(JSON.stringify(asArray, null, 2));
    expect(JSON.stringify(summary)).toBe(JSON.stringify(asArray));
    expect(samplesCsv(summary as never)).toBe(samplesCsv(asArray as never));
    expect(log.drain()).toEqual(rows);
    expect(existsSync(join(tmpdir(), mine[0]!))).toBe(false);
    expect([...log]).toEqual(rows);
    log.close();
    expect(new SampleLog().toJSON()).toEqual([]);
    // A week of rows (604,800) drains too: more than one call can take as arguments.
    const week = new SampleLog();
    for (let i = 0; i < 604_800; i++) week.append(row(i % 1000));
    expect(week.drain()).toHaveLength(604_800);
    expect(week.length).toBe(604_800);
    week.close();
  });

  /**
   * The test that would have caught the growth of issue 10: held as objects, 40,000 rows (11 hours of
   * a soak) stay in the heap after GC, about 8 MB; the log keeps at most 900 of them.
   */
  it('does not grow the heap with the number of rows', () => {
    const log = new SampleLog();
    for (let i = 0; i < 1000; i++) log.append(row(i));
    const startBytes = heapAfterGc().usedBytes;
    for (let i = 1000; i < 41_000; i++) log.append(row(i));
    const grownBytes = heapAfterGc().usedBytes - startBytes;
    expect(log.length).toBe(41_000);
    expect(log.inMemory).toBeLessThanOrEqual(900);
    expect(grownBytes, `heap after GC grew ${grownBytes} bytes over 40,000 rows`).toBeLessThan(2_000_000);
    log.close();
  });
});
