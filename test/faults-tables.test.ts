import { describe, expect, it } from 'vitest';
import type { FaultRow } from '../core/details.js';
import { encodeHistogram, newHistogram, recordUs } from '../core/histogram.js';
import type { TransportResult } from '../core/result.js';
import { faultsHeadline, faultsSection } from '../scenarios/faults-tables.js';

const histogramOf = (valuesMs: readonly number[]): string => {
  const h = newHistogram();
  for (const ms of valuesMs) recordUs(h, ms * 1000);
  return encodeHistogram(h);
};

function row(fault: string, resume: boolean, lost: number, histogram?: string): FaultRow {
  return {
    resume, fault, description: fault, recoveryMs: resume ? 120 : null, disconnects: 5, reconnects: 4, failedReconnects: 1, gaps: resume ? 0 : 2,
    messages: { expected: 50, received: 50 - lost, lost, late: 1, duplicated: 2, outOfOrder: 3, pending: 0, foreign: 0 },
    latencyUs: { count: 1, min: 1, mean: 1, p50: 1, p90: 1, p95: 1, p99: 1, p999: 1, max: 1 }, publishErrors: 6,
    ...(histogram === undefined ? {} : { histogram }),
  };
}

/** A transport's result with only what the faults tables read. */
function result(transport: string, faults: FaultRow[] | null, skipped: string[] = []): TransportResult {
  return { transport, state: 'completed', config: { resume: true }, details: faults === null ? { scenario: 'burst' } : { scenario: 'faults', faults, skipped } } as unknown as TransportResult;
}

describe('the faults tables', () => {
  it('headline: a row per transport and resume mode, the windows merged; none without fault windows', () => {
    const ws = result('ws', [row('cut', true, 0, histogramOf([1, 2, 3])), row('stall', true, 0, histogramOf([100])), row('cut', false, 7, histogramOf([5]))]);
    const sse = result('sse', [row('cut', false, 1, histogramOf([9]))]);
    const headline = faultsHeadline([ws, sse])!;
    expect(headline.headers).toEqual(['Method', 'Resume', 'P50', 'P95', 'P99', 'Max (ms)', 'Lost', 'Late', 'Dup', 'Out of order']);
    expect(headline.title).toMatch(/^Per-message latency by resume mode/);
    expect(headline.rows).toEqual([
      ['WebSocket', 'on', '2.00', '100.0', '100.0', '100.0', '0/100', '2', '4', '6'],
      ['WebSocket', 'off', '5.00', '5.00', '5.00', '5.00', '7/50', '1', '2', '3'],
      ['SSE', 'off', '9.01', '9.01', '9.01', '9.01', '1/50', '1', '2', '3'],
    ]);
    // A run of another scenario, or faults without windows, or windows without histograms: no headline.
    expect(faultsHeadline([result('ws', null)])).toBeNull();
    expect(faultsHeadline([result('ws', [])])).toBeNull();
    expect(faultsHeadline([result('ws', [row('cut', true, 0, histogramOf([1])), row('stall', true, 0)])])).toBeNull();
  });

  it('section: a row per window with every count, and what was skipped, per transport', () => {
    const [section] = faultsSection([result('long-polling', [row('cut', true, 0), row('stall', false, 3)], ['restart: skipped, not a built-in server']), result('ws', null)]);
    expect(section!.title).toMatch(/^Faults \(Recovery:/);
    expect(section!.rows).toEqual([
      ['Long Polling', 'on', 'cut', '120', '5', '4', '1', '0/50', '1', '2', '3', '0', '6'],
      ['Long Polling', 'off', 'stall', '-', '5', '4', '1', '3/50', '1', '2', '3', '2', '6'],
    ]);
    expect(section!.lines).toEqual(['Long Polling: restart: skipped, not a built-in server.']);
    // Nothing skipped: no lines at all; no faults anywhere: no section.
    expect(faultsSection([result('ws', [row('cut', true, 0)])])[0]).not.toHaveProperty('lines');
    expect(faultsSection([result('ws', null), result('sse', [])])).toEqual([]);
  });
});
