import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatThresholds } from '../analysis/formats.js';
import { evaluateThresholds, holds, parseThreshold } from '../analysis/thresholds.js';
import { result, summary } from './fixtures/runs.js';
import type { SoakDetails } from '../core/details.js';

describe('--threshold expressions', () => {
  it('parse latency with units, counts, rates as percentages, and an optional transport', () => {
    expect(parseThreshold('p99<250ms')).toMatchObject({ transport: null, metric: 'p99', operator: '<', limit: 250_000 });
    expect(parseThreshold('perMessage.p999 < 1s')).toMatchObject({ metric: 'perMessage.p999', limit: 1_000_000 });
    expect(parseThreshold('lost==0')).toMatchObject({ metric: 'lost', operator: '==', limit: 0 });
    expect(parseThreshold('errorRate<1%')).toMatchObject({ metric: 'errorRate', limit: 0.01 });
    expect(parseThreshold('errorRate<=0.5')).toMatchObject({ operator: '<=', limit: 0.5 });
    expect(parseThreshold('sse:p99<300ms')).toMatchObject({ transport: 'sse', limit: 300_000 });
    expect(parseThreshold('throughput>=500')).toMatchObject({ metric: 'throughput', operator: '>=', limit: 500 });
    expect(parseThreshold('publishRtt.p50<20')).toMatchObject({ limit: 20_000 });
  });

  it.each([
    ['p99', 'expected [transport:]metric<op>value'],
    ['pigeon:p99<1s', "unknown transport 'pigeon'"],
    ['p98<1s', "unknown metric 'p98'"],
    ['p99<soon', 'soon is not a duration'],
    ['errorRate<lots', 'lots is not a rate'],
    ['serverRssSlope<2MB/h', '2MB/h is not a memory slope'],
    ['toString<1', "unknown metric 'toString'"],
  ])('refuses %s, saying what is accepted', (text, message) => {
    expect(() => parseThreshold(text)).toThrow(InvalidArgumentError);
    expect(() => parseThreshold(text)).toThrow(message);
  });

  it('holds each rule on each transport it names, and fails what was not measured', () => {
    const run = summary([
      result('ws', {}, 1000),
      result('sse', { messages: { expected: 600, received: 597, lost: 3, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 } }, 5000),
      result('stomp', { state: 'failed' }, 900),
    ]);
    const verdicts = evaluateThresholds(run, [parseThreshold('p50<2ms'), parseThreshold('sse:lost==0'), parseThreshold('errorRate<1%')]);
    expect(verdicts.map((v) => [v.threshold, v.transport, v.measured, v.passed])).toEqual([
      ['p50<2ms', 'ws', '1.00 ms', true],
      ['p50<2ms', 'sse', '5.00 ms', false],
      ['p50<2ms', 'stomp', '0.90 ms', false],
      ['sse:lost==0', 'sse', '3', false],
      ['errorRate<1%', 'ws', '0.00%', true],
      ['errorRate<1%', 'sse', '0.50%', true],
      ['errorRate<1%', 'stomp', '0.00%', false],
    ]);
    const none = evaluateThresholds(summary([result('ws', { latencyUs: { ...result('ws').latencyUs, perMessage: { count: 0, min: null, mean: null, p50: null, p90: null, p95: null, p99: null, p999: null, max: null } } })]), [parseThreshold('p99<1s')]);
    expect(none[0]).toMatchObject({ measured: '-', passed: false });
  });

  it("gates a soak's memory slopes, in MiB (or KiB, GiB) an hour, and fails them on a run that is not a soak", () => {
    expect(parseThreshold('serverRssSlope<2MiB/h')).toMatchObject({ metric: 'serverRssSlope', limit: 2 * 1_048_576 });
    expect(parseThreshold('generatorRssSlopeSecondHalf<=512KiB/h')).toMatchObject({ limit: 512 * 1024 });
    expect(parseThreshold('generatorHeapSlope<1.5')).toMatchObject({ limit: 1.5 * 1_048_576 });
    expect(parseThreshold('serverRssSlopeSecondHalf<1GiB')).toMatchObject({ limit: 1_073_741_824 });
    const soakDetails: SoakDetails = {
      scenario: 'soak',
      intervals: [], interrupted: false, measuredS: 7200, plannedS: 7200,
      totals: { disconnects: 0, reconnects: 0, failedReconnects: 0, timeouts: 0 },
      server: { rssStartBytes: null, rssEndBytes: null, rssSlopeBytesPerHour: 3 * 1_048_576, rssSlopeSecondHalfBytesPerHour: -0.5 * 1_048_576, cpuPctAvg: null },
      generatorRssSlopeBytesPerHour: 1_048_576,
      generatorRssSlopeSecondHalfBytesPerHour: null,
      generatorHeap: { startBytes: 0, endBytes: 0, slopeBytesPerHour: 100_000, slopeSecondHalfBytesPerHour: null, growthBytesPerDelivery: null },
    };
    const run = summary([result('ws', { scenario: 'soak', details: soakDetails }), result('sse')], 'soak');
    // Over less than an hour a slope is too short to tell a leak from settling: not measured, so the gate fails.
    const short = summary([result('ws', { scenario: 'soak', details: { ...soakDetails, measuredS: 600 } })], 'soak');
    expect(evaluateThresholds(short, [parseThreshold('serverRssSlope<2MiB/h')]).map((v) => [v.measured, v.passed])).toEqual([['-', false]]);
    const rules = ['serverRssSlope<2MiB/h', 'serverRssSlopeSecondHalf<2MiB/h', 'generatorRssSlope<2MiB/h', 'generatorRssSlopeSecondHalf<2MiB/h', 'generatorHeapSlope<100000KiB/h'].map(parseThreshold);
    expect(evaluateThresholds(run, rules).map((v) => [v.threshold, v.transport, v.measured, v.passed])).toEqual([
      ['serverRssSlope<2MiB/h', 'ws', '+3.00 MiB/h', false],
      ['serverRssSlope<2MiB/h', 'sse', '-', false],
      ['serverRssSlopeSecondHalf<2MiB/h', 'ws', '-0.50 MiB/h', true],
      ['serverRssSlopeSecondHalf<2MiB/h', 'sse', '-', false],
      ['generatorRssSlope<2MiB/h', 'ws', '+1.00 MiB/h', true],
      ['generatorRssSlope<2MiB/h', 'sse', '-', false],
      // Too few readings for a fit: not measured, so not a pass.
      ['generatorRssSlopeSecondHalf<2MiB/h', 'ws', '-', false],
      ['generatorRssSlopeSecondHalf<2MiB/h', 'sse', '-', false],
      ['generatorHeapSlope<100000KiB/h', 'ws', '+0.10 MiB/h', true],
      ['generatorHeapSlope<100000KiB/h', 'sse', '-', false],
    ]);
  });

  it('writes verdicts as a table, JSON and JUnit', () => {
    const verdicts = evaluateThresholds(summary([result('ws', {}, 1000), result('sse', {}, 5000)]), [parseThreshold('p50<2ms')]);
    const md = formatThresholds(verdicts, 'md');
    expect(md).toContain('| p50<2ms   |        ws |  1.00 ms |    pass |');
    expect(md).toContain('1 of 2 thresholds FAILED.');
    expect(JSON.parse(formatThresholds(verdicts, 'json'))).toMatchObject({ passed: false, thresholds: [{ transport: 'ws', passed: true }, { transport: 'sse', passed: false }] });
    const junit = formatThresholds(verdicts, 'junit');
    expect(junit).toContain('<testsuite name="rtbench thresholds" tests="2" failures="1" skipped="0">');
    expect(junit).toContain('<testcase classname="sse" name="p50&lt;2ms"><failure message="measured 5.00 ms"/></testcase>');
    expect(junit).toContain('<testcase classname="ws" name="p50&lt;2ms"/>');
  });

  it('applies each operator exactly at, just under and just over its limit', () => {
    const at = (operator: Parameters<typeof holds>[1]) => [holds(9, operator, 10), holds(10, operator, 10), holds(11, operator, 10)];
    expect(at('<')).toEqual([true, false, false]);
    expect(at('<=')).toEqual([true, true, false]);
    expect(at('>')).toEqual([false, false, true]);
    expect(at('>=')).toEqual([false, true, true]);
    expect(at('==')).toEqual([false, true, false]);
    expect(at('!=')).toEqual([true, false, true]);
  });

  it('refuses an expression with anything before or after the rule', () => {
    for (const text of ['p99<1s junk', 'p99<1s;lost==0', '(p99<1s', '-p99<1s', 'p99<1s ms']) expect(() => parseThreshold(text), text).toThrow();
  });
});
