import { describe, expect, it } from 'vitest';
import { heapTrend, intervalsCsv, memorySlopeBytesPerHour, outsideHeapTrend, rssTrends, secondHalfSlopeBytesPerHour, type SoakInterval } from '../scenarios/soak-tables.js';
import { usageOfRows } from '../run/sampler.js';
import { RetentionProbe } from './retention-probe.js';
import type { SampleRow } from '../core/result.js';
import { checkpointGapMs } from '../scenarios/soak.js';

function sampleRow(elapsedS: number, measuring: boolean, generatorRssBytes: number | null, serverRssBytes: number | null = 1): SampleRow {
  return {
    elapsedS, measuring, step: null, connections: 0, messagesSent: 0, messagesReceived: 0, serverCpuPct: elapsedS % 7, serverRssBytes, generatorCpuPct: null,
    generatorRssBytes, proxyCpuPct: null, proxyRssBytes: null, eventLoopDelayP99Us: 0,
  };
}

describe('rssTrends', () => {
  it('fits the slope from the end of the first interval: a drop after connecting neither hides nor fakes a trend', () => {
    const MiB = 1_048_576;
    // Connecting (not measured), then 200 MiB falling to 140 in the first minute, then +1 MiB every 10 minutes.
    const rows = [sampleRow(0, false, 300 * MiB), ...Array.from({ length: 1800 }, (_, i) => sampleRow(10 + i, true, (i < 60 ? 200 - i : 140 + (i - 60) / 600) * MiB))];
    expect(rssTrends(rows, 60).generatorRssSlopeBytesPerHour! / MiB).toBeCloseTo(6, 1);
    expect(rssTrends(rows, 60).generatorRssSlopeSecondHalfBytesPerHour! / MiB).toBeCloseTo(6, 1);
    // Fitted across the drop, the same half hour reads as shrinking: the drop hides the growth.
    expect(rssTrends(rows, 0).generatorRssSlopeBytesPerHour! / MiB).toBeLessThan(0);
  });

  it('gives what fits over arrays of the rows give: from the settled second, second half from the middle, missing readings skipped', () => {
    // Unmeasured seconds first, a scatter, some readings missing.
    const rows = Array.from({ length: 3000 }, (_, i) =>
      sampleRow(i, i >= 40, i % 97 === 0 ? null : 150e6 + i * 700 + ((i * 7919) % 4001) * 900, i % 89 === 0 ? null : 80e6 + i * 50 + ((i * 104729) % 3001) * 500),
    );
    const measured = rows.filter((r) => r.measuring);
    const settled = measured.filter((r) => r.elapsedS >= 40 + 60);
    const middleS = (settled[0]!.elapsedS + settled.at(-1)!.elapsedS) / 2;
    const series = (role: 'server' | 'generator', from: readonly SampleRow[]) => from.map((r) => ({ elapsedS: r.elapsedS, bytes: r[`${role}RssBytes`] }));
    const trends = rssTrends(rows, 60);
    expect(trends.generatorRssSlopeBytesPerHour).toBe(memorySlopeBytesPerHour(series('generator', settled)));
    expect(trends.generatorRssSlopeSecondHalfBytesPerHour).toBe(memorySlopeBytesPerHour(series('generator', settled.filter((r) => r.elapsedS >= middleS))));
    expect(trends.generatorRssSlopeSecondHalfBytesPerHour).toBe(secondHalfSlopeBytesPerHour(series('generator', settled)));
    expect(trends.server).toEqual({
      rssStartBytes: measured.find((r) => r.serverRssBytes !== null)!.serverRssBytes,
      rssEndBytes: measured.findLast((r) => r.serverRssBytes !== null)!.serverRssBytes,
      rssSlopeBytesPerHour: memorySlopeBytesPerHour(series('server', settled)),
      rssSlopeSecondHalfBytesPerHour: secondHalfSlopeBytesPerHour(series('server', settled)),
      ...usageOfRows(measured, 'server'),
    });
    expect(trends.generatorRssSlopeBytesPerHour! / 1_048_576).toBeCloseTo((700 * 3600) / 1_048_576, 0);
  });

  it('has no figures before measuring starts', () => {
    expect(rssTrends([sampleRow(0, false, 5), sampleRow(1, false, 6)], 60)).toEqual({
      server: { rssStartBytes: null, rssEndBytes: null, rssSlopeBytesPerHour: null, rssSlopeSecondHalfBytesPerHour: null, cpuPctAvg: null, cpuPctMax: null, rssBytesMax: null },
      generatorRssSlopeBytesPerHour: null,
      generatorRssSlopeSecondHalfBytesPerHour: null,
    });
  });

  it('keeps no row: what a full GC leaves of the heap does not grow with the rows read (a checkpoint at hour 2 read 7,200)', () => {
    const probe = new RetentionProbe(60_000);
    rssTrends(probe, 60);
    expect(probe.growthBytes).toHaveLength(2); // two passes
    for (const growth of probe.growthBytes) expect(growth).toBeLessThan(2 * 1_048_576);
  });
});

describe('RetentionProbe', () => {
  it('sees a reader that keeps the rows it reads (the check above can fail)', () => {
    const probe = new RetentionProbe(60_000);
    const kept = [...probe];
    expect(kept).toHaveLength(60_000);
    expect(probe.growthBytes[0]).toBeGreaterThan(4 * 1_048_576);
  });
});

describe('memorySlopeBytesPerHour', () => {
  it('fits a leak as its rate per hour, and a flat line as zero', () => {
    const leak = Array.from({ length: 60 }, (_, i) => ({ elapsedS: i * 60, bytes: 100_000_000 + i * 60 * 1000 })); // +1,000 B/s
    expect(memorySlopeBytesPerHour(leak)).toBe(3_600_000);
    const flat = Array.from({ length: 60 }, (_, i) => ({ elapsedS: i, bytes: 5_000_000 + (i % 2 === 0 ? 1000 : -1000) }));
    expect(Math.abs(memorySlopeBytesPerHour(flat) ?? Number.NaN)).toBeLessThan(200_000);
  });

  it('needs three readings and ignores missing ones', () => {
    expect(memorySlopeBytesPerHour([{ elapsedS: 0, bytes: 1 }, { elapsedS: 1, bytes: 2 }])).toBeNull();
    expect(memorySlopeBytesPerHour([{ elapsedS: 0, bytes: 0 }, { elapsedS: 1, bytes: null }, { elapsedS: 2, bytes: 2 }, { elapsedS: 3, bytes: 3 }])).toBe(3600);
  });
});

describe('intervalsCsv', () => {
  it('writes one row per transport and interval, empty cells for what was not measured', () => {
    const interval: SoakInterval = {
      interval: 1, elapsedS: 60, connectionsAlive: 1000, disconnects: 0, reconnects: 0, failedReconnects: 0, timeouts: 0, gaps: 0,
      messages: { expected: 1000, received: 1000, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
      latencyUs: { count: 1000, min: 1, mean: 2, p50: 2, p90: 3, p95: 3, p99: 4, p999: 5, max: 5 },
      serverCpuPct: 3, serverRssBytes: 1000, generatorCpuPct: null, generatorRssBytes: null, generatorHeapAfterGcBytes: 52_000_000, faults: ['cut'],
    };
    const lines = intervalsCsv([{ transport: 'ws', interval }]).trim().split('\n');
    expect(lines[0]).toMatch(/^transport,interval,elapsedS,connectionsAlive/);
    expect(lines[1]).toBe('ws,1,60,1000,0,0,0,0,0,1000,1000,0,0,0,0,2,4,5,3,1000,,,52000000,,,cut');
    const after = intervalsCsv([{ transport: 'ws', interval: { ...interval, generatorHeapResidentBytes: 60_000_000, generatorRssAfterGcBytes: 140_000_000 } }]).trim().split('\n');
    expect(after[0]).toMatch(/,generatorHeapAfterGcBytes,generatorHeapResidentBytes,generatorRssAfterGcBytes,faults$/);
    expect(after[1]).toMatch(/,52000000,60000000,140000000,cut$/);
  });
});

describe('checkpointGapMs', () => {
  it('is 10 s for the first 10 minutes, then a 60th of the time so far: a crash loses at most that, and checkpoints cost a constant share', () => {
    expect(checkpointGapMs(0)).toBe(10_000);
    expect(checkpointGapMs(600_000)).toBe(10_000);
    expect(checkpointGapMs(2 * 3_600_000)).toBe(120_000);
    expect(checkpointGapMs(7 * 24 * 3_600_000)).toBe(10_080_000);
  });
});

describe('secondHalfSlopeBytesPerHour', () => {
  it('fits the later half by time only: growth that settles reads flat there, a steady leak reads the same in both halves', () => {
    const MiB = 1_048_576;
    // An hour of settling (+10 MiB) then an hour flat, one point a second.
    const settling = Array.from({ length: 7200 }, (_, s) => ({ elapsedS: s, bytes: (s < 3600 ? s / 360 : 10) * MiB }));
    expect(memorySlopeBytesPerHour(settling)! / MiB).toBeGreaterThan(3);
    expect(secondHalfSlopeBytesPerHour(settling)! / MiB).toBeCloseTo(0, 5);
    // A steady leak of 3 MiB/h, with a missing reading: the same slope either way.
    const leak = Array.from({ length: 7200 }, (_, s) => ({ elapsedS: s, bytes: s === 5000 ? null : (100 + (3 * s) / 3600) * MiB }));
    expect(secondHalfSlopeBytesPerHour(leak)! / MiB).toBeCloseTo(3, 5);
    expect(secondHalfSlopeBytesPerHour([])).toBeNull();
    expect(secondHalfSlopeBytesPerHour([{ elapsedS: 0, bytes: 1 }, { elapsedS: 1, bytes: 2 }])).toBeNull();
  });
});

describe('outsideHeapTrend', () => {
  const MiB = 1_048_576;
  const interval = (k: number, fields: Partial<SoakInterval>): SoakInterval => ({
    interval: k + 1, elapsedS: (k + 1) * 60, connectionsAlive: 1000, disconnects: 0, reconnects: 0, failedReconnects: 0, timeouts: 0, gaps: 0,
    messages: { expected: 1000, received: 1000, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
    latencyUs: { count: 1000, min: 1, mean: 2, p50: 2, p90: 3, p95: 3, p99: 4, p999: 5, max: 5 },
    serverCpuPct: null, serverRssBytes: null, generatorCpuPct: null, generatorRssBytes: null, faults: [], ...fields,
  });

  it("fits RSS minus V8's resident heap, both after the GC: V8's pages stepping up and down cancel out, native growth does not", () => {
    // Two hours, one row a minute. V8's resident heap steps between 60 and 76 MiB every 15 minutes
    // (and RSS with it); outside it, memory grows 1.5 MiB an hour.
    const rows = Array.from({ length: 120 }, (_, k) => {
      const residentMiB = Math.floor(k / 15) % 2 === 0 ? 60 : 76;
      const outsideMiB = 80 + (1.5 * (k + 1)) / 60;
      return interval(k, { generatorHeapAfterGcBytes: 55 * MiB, generatorHeapResidentBytes: residentMiB * MiB, generatorRssAfterGcBytes: (residentMiB + outsideMiB) * MiB });
    });
    const trend = outsideHeapTrend(rows)!;
    expect(trend.slopeBytesPerHour! / MiB).toBeCloseTo(1.5, 5);
    expect(trend.slopeSecondHalfBytesPerHour! / MiB).toBeCloseTo(1.5, 5);
    // The first interval is left out, as for the heap: its start is the second row's.
    expect(trend.startBytes / MiB).toBeCloseTo(80 + 3 / 60, 5);
    expect(heapTrend(rows)!.slopeBytesPerHour).toBe(0);
  });

  it('is null for soaks whose rows predate the readings, and skips rows without them', () => {
    expect(outsideHeapTrend(Array.from({ length: 10 }, (_, k) => interval(k, { generatorHeapAfterGcBytes: MiB })))).toBeNull();
    const mixed = Array.from({ length: 10 }, (_, k) => interval(k, k === 4 ? {} : { generatorHeapResidentBytes: 10 * MiB, generatorRssAfterGcBytes: (30 + k) * MiB }));
    const trend = outsideHeapTrend(mixed)!;
    expect(trend.endBytes).toBe(29 * MiB);
    expect(trend.slopeBytesPerHour).toBe(60 * MiB);
  });
});
