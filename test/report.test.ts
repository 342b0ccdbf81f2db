import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LatencyStats } from '../core/histogram.js';
import { type RunSummary, type SampleRow, type TransportResult } from '../core/result.js';
import { samplesCsv } from '../output/csv.js';
import { summaryMarkdown } from '../output/markdown.js';
import { TERMINAL_COLUMNS, renderSections, tableParts } from '../output/sections.js';
import { runFolder } from '../output/write.js';
import { SCENARIOS } from '../scenarios/index.js';
import type { ScenarioDetails, SoakDetails } from '../core/details.js';
import { soakSection } from '../scenarios/soak-tables.js';
import { encodeHistogram, newHistogram, recordUs } from '../core/histogram.js';

/**
 * Every number a reader sees in the tables, the CSV and summary.md must be the one in summary.json.
 * The summary below gives every field its own distinct value, so a column that shows the wrong
 * field, the wrong transport or the wrong unit fails.
 */

/** Whole µs shown as ms: two decimals below 100 ms, one above (the tables' own rule, restated). */
const ms = (us: number | null): string => (us === null ? '-' : us < 100_000 ? (us / 1000).toFixed(2) : (us / 1000).toFixed(1));
const mib = (bytes: number | null): string => (bytes === null ? '-' : (bytes / 1048576).toFixed(1));

function latency(seed: number): LatencyStats {
  return { count: seed, min: seed * 1000 + 101, mean: seed * 1000 + 202, p50: seed * 1000 + 303, p90: seed * 1000 + 404, p95: seed * 1000 + 505, p99: seed * 1000 + 606, p999: seed * 1000 + 707, max: seed * 100_000 + 808 };
}

function sample(transportSeed: number, second: number): SampleRow {
  return {
    elapsedS: second, measuring: second > 1, step: null, connections: 10 + transportSeed, messagesSent: 3 * second, messagesReceived: 30 * second,
    serverCpuPct: 10 + transportSeed + second / 10, serverRssBytes: 70_000_000 + second, generatorCpuPct: 5.5 + transportSeed, generatorRssBytes: 90_000_000 + second,
    proxyCpuPct: null, proxyRssBytes: null, eventLoopDelayP99Us: transportSeed === 2 ? null : 1000 + second,
    // A run from before the field existed has none: its cell is empty like a null's.
    ...(transportSeed === 1 ? {} : { generatorCpuWaitUs: 400 * second }),
  };
}

function result(transport: string, seed: number, details: ScenarioDetails | null = null, scenario = 'burst'): TransportResult {
  const kinds = { perMessage: latency(seed), burstCompletion: latency(seed + 10), fanOutSpread: latency(seed + 20), publishRtt: latency(seed + 30), sendLag: latency(seed + 40) };
  return {
    transport, scenario, state: 'completed', error: null, config: { resume: seed !== 2 }, environment: ENV, server: 'built-in',
    startedAt: '2026-11-25T10:00:00.000Z', durationMs: 1000 * seed,
    latencyUs: kinds,
    messages: { expected: 600 + seed, received: 590 + seed, lost: 10 + seed, late: 1 + seed, duplicated: 20 + seed, outOfOrder: 30 + seed, pending: 0, foreign: 0 },
    subscriberBursts: { ok: 190 + seed, failed: 10 + seed, pending: 0 },
    connections: { subscribers: 10, reconnects: 40 + seed, gaps: 0 },
    errors: {},
    serverUsage: { cpuPctAvg: 11 + seed, cpuPctMax: 51 + seed, rssBytesMax: 70_000_000 + seed * 1_048_576 },
    generator: { cpuPctAvg: 6 + seed, cpuPctMax: 16 + seed, rssBytesMax: 90_000_000, saturated: seed === 3, saturationReasons: seed === 3 ? ['a reason'] : [], eventLoopDelayP99UsMax: 0, ownDelayUsMax: 3000 + seed, ownDelayP99Us: seed === 2 ? null : 1000 * seed },
    proxyUsage: null,
    histograms: { perMessage: '', burstCompletion: '', fanOutSpread: '', publishRtt: '', sendLag: '' },
    details,
    samples: [sample(seed, 1), sample(seed, 2), sample(seed, 3)],
  };
}

const ENV = { node: 'v20.20.2', cpuModel: 'Test CPU', cores: 2, memoryBytes: 24 * 2 ** 30, os: 'Linux x', rtbenchVersion: '0.1.0', gitCommit: 'abc123' };

function summary(transports: TransportResult[], scenario = 'burst'): RunSummary {
  return { schema: 'rtbench.summary', schemaVersion: 1, runId: 'run12345', scenario, state: 'completed', startedAt: '2026-11-25T10:00:00.000Z', finishedAt: '2026-11-25T10:01:00.000Z', command: ['rtbench', scenario], environment: ENV, transports };
}

/** What the terminal and summary.md show for a summary: its scenario's sections, rendered. */
function sectionsOf(run: RunSummary) {
  return SCENARIOS.find((s) => s.name === run.scenario)!.tables(run.transports);
}
const renderTables = (run: RunSummary): string => renderSections(sectionsOf(run));

/** Each table of rendered text as its lines of cells (header first, the rule left out). */
function rawTables(text: string): string[][][] {
  const tables: string[][][] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line.slice(1, -1).split('|').map((c) => c.trim());
    if (cells.every((c) => /^-+:?$/.test(c))) continue;
    if (!inTable) tables.push([]);
    inTable = true;
    tables.at(-1)!.push(cells);
  }
  return tables;
}

/** The tables in rendered text: each a list of rows keyed by column header (a repeated header gets a `#2`). */
function parseTables(text: string): Array<Array<Record<string, string>>> {
  return rawTables(text).map(([header = [], ...rows]) => {
    const seen = new Map<string, number>();
    const headers = header.map((h) => {
      const n = (seen.get(h) ?? 0) + 1;
      seen.set(h, n);
      return n === 1 ? h : `${h}#${n}`;
    });
    return rows.map((cells) => Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? ''])));
  });
}

/**
 * Rendered for a terminal, every table line fits in 120 columns, and the parts of a cut table, put
 * back side by side (each repeats the first column), are the whole table: no cell lost or moved.
 */
function expectFitsTerminal(run: RunSummary): void {
  const cut = renderSections(sectionsOf(run), TERMINAL_COLUMNS);
  const lines = cut.split('\n').filter((line) => line.startsWith('|'));
  expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(TERMINAL_COLUMNS);
  const parts = rawTables(cut);
  for (const whole of rawTables(renderSections(sectionsOf(run)))) {
    const joined = parts.shift()!.map((row) => [...row]);
    while (joined[0]!.length < whole[0]!.length) {
      const next = parts.shift()!;
      expect(next.map((row) => row[0])).toEqual(joined.map((row) => row[0]));
      next.forEach((row, i) => joined[i]!.push(...row.slice(1)));
    }
    expect(joined).toEqual(whole);
  }
  expect(parts).toEqual([]);
}

describe('tables in a terminal', () => {
  it('cut a wide table into parts led by the first column, never between a header and its continuation', () => {
    const headers = ['Method', 'Burst completion P50', 'P99', 'Fan-out spread P50', 'P99', 'Send lag P99 (ms)'];
    const rows = [['Long Polling (no resume)', '101.3', '113.0', '0.49', '0.84', '11.41']];
    const parts = tableParts(headers, rows, 80);
    expect(parts.map((part) => rawTables(part)[0]![0])).toEqual([
      ['Method', 'Burst completion P50', 'P99'],
      ['Method', 'Fan-out spread P50', 'P99', 'Send lag P99 (ms)'],
    ]);
    expect(Math.max(...parts.flatMap((part) => part.split('\n').map((line) => line.length)))).toBeLessThanOrEqual(80);
    // Narrow enough already: one part, the table as it is; a group wider than the limit stays whole.
    expect(tableParts(headers, rows, 200)).toHaveLength(1);
    expect(tableParts(headers, rows, 10).map((part) => rawTables(part)[0]![0]!.length)).toEqual([3, 3, 2]);
  });
});

describe('report tables show exactly what summary.json holds', () => {
  const results = [result('ws', 1), result('sse', 2), result('long-polling', 3)];
  const tables = parseTables(renderTables(summary(results)));

  it('fit a terminal of 120 columns, as parts of the same tables', () => {
    expectFitsTerminal(summary([...results, { ...result('stomp', 4), config: { resume: false } }]));
  });

  it('latency table: ok/failed, percentiles, loss counts', () => {
    expect(tables[0]!.map((row) => row.Method)).toEqual(['WebSocket', 'SSE (no resume)', 'Long Polling']);
    tables[0]!.forEach((row, i) => {
      const r = results[i]!;
      const l = r.latencyUs.perMessage;
      expect(row).toEqual({
        Method: row.Method,
        'ok/failed': `${r.subscriberBursts.ok}/${r.subscriberBursts.failed}`,
        P50: ms(l.p50), P95: ms(l.p95), P99: ms(l.p99), 'Max (ms)': ms(l.max),
        Lost: `${r.messages.lost}/${r.messages.expected}`, Dup: String(r.messages.duplicated), 'Out of order': String(r.messages.outOfOrder),
      });
    });
  });

  it('burst table: completion, fan-out, publish RTT, send lag', () => {
    tables[1]!.forEach((row, i) => {
      const l = results[i]!.latencyUs;
      expect(row).toEqual({
        Method: row.Method,
        'Burst completion P50': ms(l.burstCompletion.p50), P99: ms(l.burstCompletion.p99),
        'Fan-out spread P50': ms(l.fanOutSpread.p50), 'P99#2': ms(l.fanOutSpread.p99),
        'Publish RTT P50': ms(l.publishRtt.p50), 'P99#3': ms(l.publishRtt.p99),
        'Send lag P99 (ms)': ms(l.sendLag.p99),
      });
    });
  });

  it('resource table: server and generator CPU and RSS, reconnects, saturation', () => {
    tables[2]!.forEach((row, i) => {
      const r = results[i]!;
      expect(row).toEqual({
        Method: row.Method,
        'Server CPU avg %': String(Math.round(r.serverUsage!.cpuPctAvg!)), 'max %': String(Math.round(r.serverUsage!.cpuPctMax!)),
        'Server RSS max (MiB)': mib(r.serverUsage!.rssBytesMax),
        'Generator CPU avg %': String(Math.round(r.generator.cpuPctAvg!)), 'max %#2': String(Math.round(r.generator.cpuPctMax!)),
        'Own delay P99 ≤ (ms)': r.generator.ownDelayP99Us == null ? '-' : `${ms(r.generator.ownDelayP99Us)} (${Math.round((r.generator.ownDelayP99Us / r.latencyUs.perMessage.p99!) * 100)}% of p99)`,
        Reconnects: String(r.connections.reconnects),
        'Generator saturated': r.generator.saturated ? 'YES' : 'no',
      });
    });
  });

  it('samples.csv: one row per transport per second, every field as stored', () => {
    const [header, ...lines] = samplesCsv(summary(results)).trim().split('\n');
    const columns = header!.split(',');
    expect(lines).toHaveLength(9);
    lines.forEach((line, index) => {
      const cells = line.split(',');
      const r = results[Math.floor(index / 3)]!;
      const row = [...r.samples][index % 3]!;
      expect(cells[0]).toBe(r.transport);
      for (const [c, column] of columns.slice(1).entries()) {
        const value = row[column as keyof SampleRow];
        expect(cells[c + 1], column).toBe(value === null || value === undefined ? '' : String(value));
      }
    });
  });

  it('summary.md: the run, the machine, the commit and the same tables', () => {
    const markdown = summaryMarkdown(summary(results), sectionsOf(summary(results)));
    expect(markdown).toContain(renderTables(summary(results)));
    expect(markdown).toContain('- Run run12345, 2026-11-25T10:00:00.000Z to 2026-11-25T10:01:00.000Z');
    expect(markdown).toContain('- Command: `rtbench burst`');
    expect(markdown).toContain('- Machine: Test CPU, 2 cores, 24 GiB, Linux x, Node v20.20.2');
    expect(markdown).toContain('- rtbench 0.1.0, commit abc123');
  });

  it('ramp table: each step as stored', () => {
    const step = (n: number) => ({
      step: n, target: 100 * n, connectionsHeld: 100 * n - 1,
      connect: { attempted: 100, ok: 99, failed: n, errors: {}, latencyUs: latency(50 + n) },
      messages: { expected: 1000 * n, received: 1000 * n - 3, lost: 3, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
      errorRate: 0.0123 * n,
      latencyUs: { perMessage: latency(60 + n), fanOutSpread: latency(70 + n), publishRtt: latency(1), sendLag: latency(1) },
      errors: {},
      server: { cpuPctAvg: 20 + n, cpuPctMax: 40 + n, rssBytesMax: 80_000_000 + n * 1_048_576, rssPerConnectionBytes: 7000 + n * 100 },
      generator: { cpuPctAvg: 30 + n, cpuPctMax: 60 + n, rssBytesMax: 1, saturated: n === 2, saturationReasons: [], workerUtilizationMax: 0.1 * n, workerGcPauseUsMax: 0, cpuWaitUsMax: null, ownDelayUs: n === 1 ? 1234 : null, ownDelayLongestUs: 0, ownDelayShareOfSpreadP99: null, ownDelayShareOfP99: n === 1 ? 0.376 : null },
      passed: true, durationMs: 1,
    });
    const steps = [step(1), step(2)];
    const ramp = result('ws', 1, { scenario: 'ramp', steps, breakingPoint: null, verdict: 'every step passed' }, 'ramp');
    const text = renderTables(summary([ramp], 'ramp'));
    expectFitsTerminal(summary([ramp], 'ramp'));
    expect(text).toContain('Ramp, WebSocket: every step passed');
    const rows = parseTables(text).at(-1)!;
    rows.forEach((row, i) => {
      const s = steps[i]!;
      expect(row).toEqual({
        Step: `${s.target}${s.generator.saturated ? '*' : ''}`, Held: String(s.connectionsHeld),
        'Connect P50': ms(s.connect.latencyUs.p50), 'P99 (ms)': ms(s.connect.latencyUs.p99), 'Connect errors': String(s.connect.failed),
        'Error rate': `${(s.errorRate * 100).toFixed(2)}%`,
        'Latency P50': ms(s.latencyUs.perMessage.p50), P99: ms(s.latencyUs.perMessage.p99), 'Max (ms)': ms(s.latencyUs.perMessage.max),
        'Fan-out P99': ms(s.latencyUs.fanOutSpread.p99),
        'Own delay P99 ≤ (ms)': i === 0 ? '1.23 (38% of p99)' : '-',
        'Server CPU avg/max %': `${s.server.cpuPctAvg}/${s.server.cpuPctMax}`, 'Server RSS (MiB)': mib(s.server.rssBytesMax),
        'RSS/conn (KiB)': (s.server.rssPerConnectionBytes / 1024).toFixed(1),
        'Generator CPU %': `${s.generator.cpuPctAvg}/${s.generator.cpuPctMax}`, 'Worker busy %': String(Math.round(s.generator.workerUtilizationMax * 100)),
      });
    });
  });

  it('faults table: one row per mode and fault, as stored', () => {
    const fault = (n: number, kind: string, resume: boolean) => ({
      resume, fault: kind, description: kind, recoveryMs: n === 2 ? null : 100 + n, disconnects: 50 + n, reconnects: 40 + n, failedReconnects: 30 + n, gaps: 20 + n,
      messages: { expected: 1000, received: 1000 - n, lost: n, late: n - 1, duplicated: 2 * n, outOfOrder: 3 * n, pending: 0, foreign: 0 },
      latencyUs: latency(n), publishErrors: 5 + n,
    });
    const rows = [fault(1, 'cut', true), fault(2, 'stall', false)];
    const faults = result('sse', 1, { scenario: 'faults', faults: rows, skipped: [] }, 'faults');
    const table = parseTables(renderTables(summary([faults], 'faults'))).find((t) => t[0]?.Fault !== undefined)!;
    expectFitsTerminal(summary([faults], 'faults'));
    table.forEach((row, i) => {
      const f = rows[i]!;
      expect(row).toEqual({
        Method: 'SSE', Resume: f.resume ? 'on' : 'off', Fault: f.fault, 'Recovery (ms)': f.recoveryMs === null ? '-' : String(f.recoveryMs),
        Disconnects: String(f.disconnects), Reconnects: String(f.reconnects), 'Failed attempts': String(f.failedReconnects),
        Lost: `${f.messages.lost}/${f.messages.expected}`, Late: String(f.messages.late), Dup: String(f.messages.duplicated), 'Out of order': String(f.messages.outOfOrder),
        'Gap signals': String(f.gaps), 'Publish errors': String(f.publishErrors),
      });
    });
  });

  it('faults headline: one row per transport and resume mode, latency merged over its windows', () => {
    const windowOf = (valuesMs: readonly number[]): string => {
      const h = newHistogram();
      for (const ms of valuesMs) recordUs(h, ms * 1000);
      return encodeHistogram(h);
    };
    const row = (kind: string, resume: boolean, valuesMs: readonly number[], lost: number) => ({
      resume, fault: kind, description: kind, recoveryMs: 100, disconnects: 1, reconnects: 1, failedReconnects: 0, gaps: 0,
      messages: { expected: 100, received: 100 - lost, lost, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
      latencyUs: latency(1), publishErrors: 0, histogram: windowOf(valuesMs),
    });
    const rows = [row('cut', true, [1, 2, 3], 0), row('stall', true, [100], 0), row('cut', false, [5, 5, 5], 7), row('stall', false, [9], 3)];
    const faults = result('ws', 1, { scenario: 'faults', faults: rows, skipped: [] }, 'faults');
    const headline = parseTables(renderTables(summary([faults], 'faults'))).find((t) => t[0]?.Resume !== undefined && t[0]?.Fault === undefined)!;
    expect(headline.map((r) => [r.Method, r.Resume, r.P50, r['Max (ms)'], r.Lost])).toEqual([
      ['WebSocket', 'on', '2.00', '100.0', '0/200'],
      ['WebSocket', 'off', '5.00', '9.01', '10/200'], // 9 ms as the histogram keeps it (3 significant digits)
    ]);
    // Runs made before the windows kept their histograms: the per-transport table, as before.
    const older = result('ws', 1, { scenario: 'faults', faults: rows.map(({ histogram: _, ...rest }) => rest), skipped: [] }, 'faults');
    expect(parseTables(renderTables(summary([older], 'faults'))).some((t) => t[0]?.['ok/failed'] !== undefined)).toBe(true);
  });

  it('soak table: totals, loss and the memory slope, as stored', () => {
    const details: SoakDetails = {
      scenario: 'soak',
      intervals: [], interrupted: false, measuredS: 1800, plannedS: 1800,
      totals: { disconnects: 3, reconnects: 4, failedReconnects: 5, timeouts: 6 },
      server: { rssStartBytes: 100 * 1_048_576, rssEndBytes: 90 * 1_048_576, rssSlopeBytesPerHour: -2 * 1_048_576, rssSlopeSecondHalfBytesPerHour: -0.5 * 1_048_576, cpuPctAvg: 7 },
      generatorRssSlopeBytesPerHour: 3 * 1_048_576,
      generatorRssSlopeSecondHalfBytesPerHour: 1.2 * 1_048_576,
      generatorHeap: { startBytes: 50 * 1_048_576, endBytes: 51 * 1_048_576, slopeBytesPerHour: 0.5 * 1_048_576, slopeSecondHalfBytesPerHour: 0.1 * 1_048_576, growthBytesPerDelivery: 1 },
      generatorRssOutsideHeap: { startBytes: 80 * 1_048_576, endBytes: 81 * 1_048_576, slopeBytesPerHour: 0.7 * 1_048_576, slopeSecondHalfBytesPerHour: -0.3 * 1_048_576, growthBytesPerDelivery: 1 },
    };
    const soak = result('ws', 1, details, 'soak');
    const text = renderTables(summary([soak], 'soak'));
    expectFitsTerminal(summary([soak], 'soak'));
    const tables = parseTables(text);
    const rowOf = (column: string): Record<string, string> => tables.find((t) => t[0]?.[column] !== undefined)![0]!;
    expect(rowOf('Measured')).toEqual({
      Method: 'WebSocket', Measured: '30/30 min', Connections: '10', Disconnects: '3', Reconnects: '4', Timeouts: '6',
      Lost: `${soak.messages.lost}/${soak.messages.expected}`, Dup: String(soak.messages.duplicated),
      P50: ms(soak.latencyUs.perMessage.p50), P99: ms(soak.latencyUs.perMessage.p99), 'Max (ms)': ms(soak.latencyUs.perMessage.max),
    });
    expect(rowOf('Server RSS start -> end')).toEqual({ Method: 'WebSocket', 'Server RSS start -> end': '100.0 -> 90.0', 'RSS slope: all, 2nd half': '-2.0, -0.5', 'Server CPU avg %': '7' });
    expect(rowOf('Heap slope')).toEqual({
      Method: 'WebSocket', 'RSS slope: all, 2nd half': '+3.0, +1.2', 'Heap after GC start -> end': '50.0 -> 51.0', 'Heap slope': '+0.5', 'Outside heap slope: all, 2nd half': '+0.7, -0.3',
    });
    // Each soak table fits a terminal of 120 columns; a soak of 30 minutes is warned about its slopes.
    const soakLines = renderSections(soakSection([soak])).split('\n').filter((line) => line.startsWith('|'));
    expect(soakLines.length).toBeGreaterThanOrEqual(9);
    expect(Math.max(...soakLines.map((line) => line.length))).toBeLessThanOrEqual(120);
    expect(text).toContain('Memory slopes of WebSocket: measured over less than 1h, too short to tell a leak from memory settling');
    // A soak made before the outside-heap reading existed shows a dash there.
    const { generatorRssOutsideHeap: _, ...older } = details;
    const olderRow = parseTables(renderTables(summary([result('ws', 1, older, 'soak')], 'soak'))).find((t) => t[0]?.['Heap slope'] !== undefined)![0]!;
    expect(olderRow['Outside heap slope: all, 2nd half']).toBe('-');
  });

  it('warns next to the numbers when the generator was saturated, and names pending deliveries', () => {
    const text = renderTables(summary([result('long-polling', 3), { ...result('ws', 1), messages: { ...result('ws', 1).messages, pending: 7 } }]));
    expect(text).toContain('- Long Polling: the load generator was saturated, so these numbers may measure rtbench, not the server: a reason.');
    expect(text).toContain('- WebSocket: 7 deliveries were still within their deadline when the run stopped (neither received nor lost).');
  });

  it("notes the machine's part beside the numbers: the event-loop delay where it was monitored, else the threads' waits for a CPU", () => {
    const withGenerator = (seed: number, generator: Partial<TransportResult['generator']>): TransportResult => {
      const base = result('ws', seed);
      return { ...base, generator: { ...base.generator, ...generator } };
    };
    const monitored = renderTables(summary([withGenerator(1, { eventLoopDelayP99UsMax: 30_000, ownDelayUsMax: 2_000, cpuWaitUsMax: 90_000 })]));
    expect(monitored).toContain("- WebSocket: a generator thread's event-loop delay p99 reached 30.0 ms");
    expect(monitored).not.toContain('waited');
    const pooled = renderTables(summary([withGenerator(1, { eventLoopDelayP99UsMax: null, cpuWaitUsMax: 90_000 })]));
    expect(pooled).toContain('- WebSocket: a generator thread waited 90.0 ms for a CPU within one second');
    const quiet = renderTables(summary([withGenerator(1, { eventLoopDelayP99UsMax: null, cpuWaitUsMax: 3_000 })]));
    expect(quiet).not.toContain('for a CPU');
  });
});

describe('run folders', () => {
  it('gives runs started in the same second their own folders, claimed at once so another process cannot take the same', () => {
    const out = mkdtempSync(join(tmpdir(), 'rtbench-folders-'));
    try {
      const startedAt = '2026-11-26T07:50:03.123Z';
      const folders = [runFolder(out, 'soak', startedAt), runFolder(out, 'soak', startedAt), runFolder(out, 'soak', startedAt)];
      expect(folders.map((folder) => basename(folder))).toEqual(['2026-11-26T07-50-03Z-soak', '2026-11-26T07-50-03Z-soak-2', '2026-11-26T07-50-03Z-soak-3']);
      for (const folder of folders) expect(statSync(folder).isDirectory()).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
