import { describe, expect, it } from 'vitest';
import { parseThreshold } from '../analysis/thresholds.js';
import { type Histogram, encodeHistogram, newHistogram } from '../core/histogram.js';
import type { MessageCounts } from '../core/result.js';
import type { Round } from '../scenarios/pool-run.js';
import type { StepHealth } from '../scenarios/step-health.js';
import { throughputStep } from '../scenarios/throughput.js';

const histogramOf = (valuesUs: number[]): Histogram => {
  const histogram = newHistogram();
  for (const value of valuesUs) histogram.recordValue(value);
  return histogram;
};

/** A step of 100 planned messages over 1 s to 10 subscribers: `accepted` publishes answered, deliveries at `latencyUs`. */
function round(options: { lost?: number; accepted?: number; publishErrors?: Record<string, number>; latencyUs?: number }): Round {
  const lost = options.lost ?? 0;
  const messages: MessageCounts = { expected: 1000, received: 1000 - lost, lost, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 };
  const perMessage = histogramOf(Array.from({ length: 1000 - lost }, () => options.latencyUs ?? 5_000));
  const accepted = options.accepted ?? 100;
  const rtt = { count: accepted, min: 1, mean: 1, p50: 1, p90: 1, p95: 1, p99: 1, p999: 1, p9999: 1, max: 1 };
  return {
    merged: { messages, perMessage, fanOutSpread: histogramOf([100]), burstCompletion: histogramOf([]) } as unknown as Round['merged'],
    publish: { latencyUs: { publishRtt: rtt, sendLag: rtt }, errors: options.publishErrors ?? {}, histograms: { publishRtt: encodeHistogram(histogramOf([1])), sendLag: encodeHistogram(histogramOf([1])) } } as unknown as Round['publish'],
    browser: null,
    startUs: 0,
  };
}

const health = (options: { saturated?: boolean; serverCpuPct?: number } = {}): StepHealth => ({
  server: { cpuPctAvg: 10, cpuPctMax: options.serverCpuPct ?? 10, rssBytesMax: 1 },
  generator: { cpuPctAvg: 10, cpuPctMax: 10, rssBytesMax: 1, saturated: options.saturated ?? false, saturationReasons: options.saturated ? ['publisher sent late'] : [], workerUtilizationMax: 0.1, workerGcPauseUsMax: 0, cpuWaitUsMax: null, ownDelayUs: null, ownDelayLongestUs: 0, ownDelayShareOfSpreadP99: null, ownDelayShareOfP99: null },
});

const config = { slo: parseThreshold('p99<250ms') };
const at = { step: 1, ratePerS: 100, attempt: 1, planned: 100, windowS: 1 };

describe('throughputStep: whether a rate held, and why not', () => {
  it('holds when nothing is lost, every publish is answered, the SLO is kept and the rate was offered', () => {
    const step = throughputStep(config, at, round({}), health());
    expect(step).toMatchObject({ passed: true, causes: [], achievedPublishPerS: 100, deliveredPerS: 1000, offeredPerS: 100, planned: 100 });
  });

  it('names each cause: loss, failed publishes, a broken SLO, a rate the publisher did not offer', () => {
    expect(throughputStep(config, at, round({ lost: 3 }), health()).causes).toEqual(['3 of 1000 deliveries lost']);
    expect(throughputStep(config, at, round({ publishErrors: { HTTP_503: 2 } }), health()).causes).toEqual(['2 publishes failed (HTTP_503)']);
    expect(throughputStep(config, at, round({ latencyUs: 300_000 }), health()).causes[0]).toMatch(/^SLO p99<250ms broken: 30\d\.\d ms$/);
    // 97 of 100 answered without a failure: the server was offered 97% of the rate, not all of it.
    expect(throughputStep(config, at, round({ accepted: 97 }), health()).causes).toEqual(['the publisher offered 97% of this rate']);
    expect(throughputStep(config, at, round({ accepted: 98 }), health()).passed).toBe(true);
  });

  it('a flagged generator or a busy server fails no rate alone, but is named where a rate broke', () => {
    expect(throughputStep(config, at, round({}), health({ saturated: true, serverCpuPct: 95 })).passed).toBe(true);
    const broke = throughputStep(config, at, round({ lost: 1 }), health({ saturated: true, serverCpuPct: 95 })).causes;
    expect(broke).toEqual([
      '1 of 1000 deliveries lost',
      "the generator could not offer or read this rate, so the limit may be rtbench's: publisher sent late",
      'the server was busy (CPU up to 95% of one core)',
    ]);
  });
});
