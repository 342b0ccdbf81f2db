import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonPieces, writeJson, writePieces } from '../output/stream-write.js';

/**
 * summary.json and samples.csv are written in pieces so a long run's checkpoints allocate no big
 * string; what lands on disk must be byte for byte what JSON.stringify(value, null, 2) would write.
 */
const dir = mkdtempSync(join(tmpdir(), 'rtbench-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const awkward = {
  plain: 1, negative: -0, fraction: 0.1 + 0.2, big: 2 ** 60, notFinite: [NaN, Infinity, -Infinity], text: 'quote " backslash \\ newline \n tab \t nul \u0000 é 中 😀 lone \ud800',
  nothing: null, gone: undefined, fn: () => 1, sym: Symbol('s'), yes: true, no: false,
  emptyArray: [], emptyObject: {}, holes: [undefined, () => 2, Symbol('t'), null], nested: [[[]], [{}], [{ a: [1, { b: [] }] }]],
  date: new Date(Date.UTC(2026, 10, 26, 10, 0, 0)), custom: { toJSON: (key: string) => `custom at ${key}` }, customInArray: [{ toJSON: (key: string) => ({ key }) }],
  'key "with" quotes': 'x', '': 'empty key', 3: 'numeric key',
};

describe('pieces of JSON', () => {
  it('join to exactly JSON.stringify(value, null, 2), for awkward values and top-level primitives', () => {
    expect([...jsonPieces(awkward)].join('')).toBe(JSON.stringify(awkward, null, 2));
    for (const value of [null, 0, 'a', [], {}, [1, [2, [3]]], undefined]) expect([...jsonPieces(value)].join('')).toBe(JSON.stringify(value, null, 2) ?? 'null');
  });

  it('write a file larger than the buffer that equals JSON.stringify, with pieces bigger than the buffer too', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ elapsedS: i / 10, measuring: i % 2 === 0, step: null, text: `row ${i} ü` }));
    const value = { rows, long: 'ß'.repeat(100_000), after: [1, 2] };
    const path = join(dir, 'summary.json');
    await writeJson(path, value);
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(value, null, 2)}\n`);
    // Rewriting a shorter value replaces the file rather than leaving the old tail.
    await writeJson(path, { short: true });
    expect(readFileSync(path, 'utf8')).toBe('{\n  "short": true\n}\n');
  });

  it('write pieces in order, multi-byte characters across buffer boundaries included', async () => {
    const pieces = Array.from({ length: 40_000 }, (_, i) => `${i}:€\n`);
    const path = join(dir, 'lines.csv');
    await writePieces(path, pieces);
    expect(readFileSync(path, 'utf8')).toBe(pieces.join(''));
  });

  it('write two hours of per-second samples with no piece bigger than a row: a checkpoint allocates the same at hour 2 as at minute 1', () => {
    const row = (second: number): Record<string, unknown> => ({ elapsedS: second + 0.1, measuring: true, step: null, connections: 1000, messagesSent: 0, messagesReceived: 17, serverCpuPct: 0.3, serverRssBytes: 80_000_000, generatorCpuPct: 1.2, generatorRssBytes: 170_000_000 + second, proxyCpuPct: null, proxyRssBytes: null, eventLoopDelayP99Us: 1234 });
    const summary = { schema: 'rtbench.summary', transports: [{ transport: 'ws', latencyUs: { perMessage: { p50: 1 } }, samples: Array.from({ length: 7200 }, (_, i) => row(i)) }] };
    let longest = 0;
    let text = '';
    for (const piece of jsonPieces(summary)) {
      longest = Math.max(longest, piece.length);
      text += piece;
    }
    expect(text).toBe(JSON.stringify(summary, null, 2));
    // One row, indented, is about 450 characters; the whole is over 3 MB.
    expect(text.length).toBeGreaterThan(3_000_000);
    expect(longest).toBeLessThan(1000);
  });
});

