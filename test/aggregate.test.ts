import { describe, expect, it } from 'vitest';
import { RoundTotals, addCounts, addErrors, aggregateResult, emptyCounts, errorsSince, foldEncoded } from '../load/aggregate.js';
import { decodeHistogram, encodeHistogram, latencyStats, mergeEncoded, newHistogram, recordUs } from '../core/histogram.js';

describe('aggregate', () => {
  it('adds counts field by field', () => {
    const total = emptyCounts();
    expect(total).toEqual({ expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 });
    addCounts(total, { expected: 10, received: 8, lost: 2, late: 1, duplicated: 3, outOfOrder: 4, pending: 5, foreign: 6 });
    addCounts(total, { expected: 1, received: 1, lost: 0, late: 0, duplicated: 1, outOfOrder: 0, pending: 0, foreign: 2 });
    expect(total).toEqual({ expected: 11, received: 9, lost: 2, late: 1, duplicated: 4, outOfOrder: 4, pending: 5, foreign: 8 });
  });

  it('adds errors by code, with an optional prefix', () => {
    const errors: Record<string, number> = { A: 1 };
    addErrors(errors, { A: 2, B: 3 });
    addErrors(errors, { A: 4 }, 'connect:');
    expect(errors).toEqual({ A: 3, B: 3, 'connect:A': 4 });
  });

  it('merges each latency kind of many rounds, and reads ok/failed/pending from the counts', () => {
    const round = (values: number[]): string => {
      const histogram = newHistogram();
      for (const value of values) recordUs(histogram, value);
      return encodeHistogram(histogram);
    };
    const counts = { expected: 6, received: 5, lost: 1, late: 0, duplicated: 0, outOfOrder: 0, pending: 2, foreign: 0 };
    const result = aggregateResult(counts, { perMessage: [round([1000, 2000]), round([3000])], sendLag: [round([7])] }, { X: 1 });
    expect(result.messages).toEqual(counts);
    expect(result.messages).not.toBe(counts);
    expect(result.subscriberBursts).toEqual({ ok: 5, failed: 1, pending: 2 });
    expect(result.latencyUs.perMessage).toMatchObject({ count: 3, min: 1000 });
    // HDR resolution: within 0.1% of what was recorded.
    expect(Math.abs(result.latencyUs.perMessage.max! - 3000)).toBeLessThanOrEqual(3);
    expect(result.latencyUs.sendLag).toMatchObject({ count: 1, min: 7 });
    expect(result.latencyUs.burstCompletion.count).toBe(0);
    expect(latencyStats(newHistogram()).count).toBe(0);
    expect(result.histograms.perMessage).toMatch(/^HIST/);
    expect(result.errors).toEqual({ X: 1 });
  });

  it('folds rounds into one histogram that reads as the merge of them all', () => {
    const rounds = Array.from({ length: 50 }, (_, k) => {
      const histogram = newHistogram();
      for (let i = 0; i <= k; i++) recordUs(histogram, 1000 * (k + 1) + i);
      return encodeHistogram(histogram);
    });
    const folded: string[] = [];
    for (const round of rounds) foldEncoded(folded, round);
    expect(folded).toHaveLength(1);
    expect(latencyStats(decodeHistogram(folded[0]!))).toEqual(latencyStats(mergeEncoded(rounds)));
    expect(latencyStats(decodeHistogram(folded[0]!)).count).toBe((50 * 51) / 2);
  });

  it('takes what cumulative counters added since a reading, by code, prefixed', () => {
    expect(errorsSince({ A: 5, B: 2, C: 1 }, { A: 3, B: 2 }, 'subscriber:')).toEqual({ 'subscriber:A': 2, 'subscriber:C': 1 });
    expect(errorsSince({ A: 1 }, { A: 1 })).toEqual({});
    expect(errorsSince({ A: 4 }, {})).toEqual({ A: 4 });
  });
});

describe('RoundTotals', () => {
  const histogramOf = (valuesUs: number[]) => {
    const histogram = newHistogram();
    for (const value of valuesUs) recordUs(histogram, value);
    return histogram;
  };
  const round = (latencyUs: number[], spreadUs: number, rttUs: number, received: number, connections: { reconnects: number; gaps: number; sends: number }) => ({
    merged: {
      messages: { expected: 10, received, lost: 10 - received, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
      perMessage: histogramOf(latencyUs),
      fanOutSpread: histogramOf([spreadUs]),
      ...connections,
    },
    publish: { histograms: { publishRtt: encodeHistogram(histogramOf([rttUs])), sendLag: encodeHistogram(histogramOf([rttUs / 10])) } },
  });

  it('adds rounds up: counts, errors, each latency kind merged, the connections as of the latest round', () => {
    const totals = new RoundTotals();
    totals.add(round([1000, 2000], 100, 500, 9, { reconnects: 1, gaps: 0, sends: 2 }), { 'subscriber:X': 1 });
    totals.add(round([3000], 300, 700, 10, { reconnects: 4, gaps: 1, sends: 5 }), { 'subscriber:X': 2, HTTP_503: 1 });
    totals.addErrors({ ECONNREFUSED: 2 }, 'connect:');
    const result = totals.result();
    expect(result.messages).toEqual({ expected: 20, received: 19, lost: 1, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 });
    expect(result.errors).toEqual({ 'subscriber:X': 3, HTTP_503: 1, 'connect:ECONNREFUSED': 2 });
    expect(result.latencyUs.perMessage).toMatchObject({ count: 3, min: 1000, max: latencyStats(histogramOf([3000])).max });
    expect(result.latencyUs.fanOutSpread).toMatchObject({ count: 2, min: 100 });
    expect(result.latencyUs.publishRtt).toMatchObject({ count: 2, min: 500 });
    expect(result.latencyUs.sendLag).toMatchObject({ count: 2, min: 50 });
    expect(result.latencyUs.burstCompletion.count).toBe(0);
    expect(totals.connections).toEqual({ reconnects: 4, gaps: 1, sends: 5 });
    // The result is a copy: more rounds change later results, not one already taken.
    totals.addErrors({ ECONNREFUSED: 1 }, 'connect:');
    expect(result.errors['connect:ECONNREFUSED']).toBe(2);
  });

  it('starts empty', () => {
    const totals = new RoundTotals();
    expect(totals.result().messages.expected).toBe(0);
    expect(totals.result().errors).toEqual({});
    expect(totals.result().latencyUs.perMessage.count).toBe(0);
    expect(totals.connections).toEqual({ reconnects: 0, gaps: 0, sends: 0 });
  });
});
