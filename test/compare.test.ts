import { describe, expect, it } from 'vitest';
import { compareRuns, parseFailOn } from '../analysis/compare.js';
import { formatComparison } from '../analysis/formats.js';
import { RtbError } from '../core/errors.js';
import { repeats, result, summary } from './fixtures/runs.js';

const FIVE = [1000, 1010, 990, 1005, 995];

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RtbError);
    expect((error as RtbError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('compared runs it should have refused');
}

describe('rtbench compare', () => {
  it('finds no regression comparing runs with themselves', () => {
    const base = repeats('ws', FIVE);
    const comparison = compareRuns([base], [base]);
    expect(comparison.outcome).toBe('pass');
    expect(comparison.rows.filter((r) => r.metric.startsWith('perMessage')).every((r) => r.verdict === '~' && r.p === 1)).toBe(true);
  });

  it('flags a latency that rose significantly beyond --fail-on, and only then', () => {
    const base = repeats('ws', FIVE);
    const slower = repeats('ws', FIVE.map((v) => v * 1.3));
    const regression = compareRuns([base], [slower]);
    expect(regression.outcome).toBe('regression');
    const p50 = regression.rows.find((r) => r.metric === 'perMessage.p50')!;
    expect(p50).toMatchObject({ verdict: 'REGRESSION' });
    expect(p50.change).toBeCloseTo(0.3, 2);
    expect(p50.p).toBeCloseTo(2 / 252, 6);
    // The same change within a generous --fail-on is significant but not a failure.
    const lenient = compareRuns([base], [slower], { failOn: parseFailOn('perMessage.p50:+50%', parseFailOn('perMessage.p99:+50%', [])) });
    expect(lenient.outcome).toBe('pass');
    expect(lenient.rows.find((r) => r.metric === 'perMessage.p50')?.verdict).toBe('changed');
    // Faster is never a regression of a latency.
    expect(compareRuns([slower], [base]).outcome).toBe('pass');
  });

  it('calls a change significant at p < 0.05: one overlap in five against five (p = 4/252) is a regression', () => {
    const base = repeats('ws', FIVE);
    // 1006 sits below one base repeat (1010): U = 1, two-sided p = 4/252, about 0.016.
    const slower = repeats('ws', [1006, 1300, 1310, 1320, 1330]);
    const p50 = compareRuns([base], [slower]).rows.find((r) => r.metric === 'perMessage.p50')!;
    expect(p50.p).toBeCloseTo(4 / 252, 6);
    expect(p50.verdict).toBe('REGRESSION');
  });

  it('calls fewer than 5 runs a side inconclusive, never a pass', () => {
    const comparison = compareRuns([repeats('ws', FIVE.slice(0, 3))], [repeats('ws', FIVE.slice(0, 3))]);
    expect(comparison.outcome).toBe('inconclusive');
    expect(formatComparison(comparison, 'md')).toContain('Inconclusive');
  });

  it('fails any increase of an exact counter, whatever the repeats', () => {
    const base = repeats('ws', FIVE.slice(0, 2));
    const lossy = repeats('ws', FIVE.slice(0, 2), { messages: { expected: 600, received: 599, lost: 1, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 } });
    const comparison = compareRuns([base], [lossy]);
    expect(comparison.outcome).toBe('regression');
    expect(comparison.rows.find((r) => r.metric === 'lost')).toMatchObject({ verdict: 'REGRESSION', base: { median: '0' }, next: { median: '1' } });
    expect(comparison.rows.find((r) => r.metric === 'duplicated')?.verdict).toBe('pass');
  });

  it('leaves a saturated repeat out of the latency tests by default, names it, keeps its exact counts, and keeps it with --include-saturated', () => {
    const base = repeats('ws', [...FIVE, 1000]);
    const saturated = { ...result('ws').generator, saturated: true, saturationReasons: ['a worker was 100% busy'] };
    // Six repeats, the third saturated and far slower: five clean ones remain, and they match BASE.
    const repeated = [...repeats('ws', [...FIVE, 1000]).transports];
    repeated[2] = result('ws', { repeat: 3, generator: saturated }, 9000);
    const next = summary(repeated);
    // Kept in, the saturated repeat is one slow value of six: still no significant change, but named as kept.
    const kept = compareRuns([base], [next], { includeSaturated: true });
    expect(kept.rows.find((r) => r.metric === 'perMessage.p50')).toMatchObject({ base: { n: 6 }, next: { n: 6 } });
    expect(kept.rows.find((r) => r.metric === 'perMessage.p50')!.why).toContain('kept (--include-saturated), generator saturated: NEW #3');
    const exclude = {};
    const comparison = compareRuns([base], [next], exclude);
    expect(comparison.outcome).toBe('pass');
    const p50 = comparison.rows.find((r) => r.metric === 'perMessage.p50')!;
    expect(p50).toMatchObject({ verdict: '~', base: { n: 6 }, next: { n: 5 } });
    expect(p50.why).toContain('left out, generator saturated: NEW #3');
    // Two saturated leave four: too few to tell, so inconclusive, never a pass.
    repeated[4] = result('ws', { repeat: 5, generator: saturated }, 9000);
    expect(compareRuns([base], [summary(repeated)], exclude).outcome).toBe('inconclusive');
    // A loss in a saturated repeat is still a loss.
    repeated[4] = result('ws', { repeat: 5, generator: saturated, messages: { ...result('ws').messages, received: 599, lost: 1 } }, 1000);
    expect(compareRuns([base], [summary(repeated)], exclude).outcome).toBe('regression');
  });

  it('refuses runs of another scenario or another configuration, naming the difference', () => {
    const base = repeats('ws', FIVE);
    expect(refusal(() => compareRuns([base], [summary([result('ws', { scenario: 'ramp' })], 'ramp')]))).toContain('burst vs ramp');
    expect(refusal(() => compareRuns([base], [repeats('ws', FIVE, { config: { ...result('ws').config, delay: 50 } })]))).toContain('delay: 0 in BASE, 50 in NEW');
    // What does not change the measurement may differ: the output folder, --repeat, --json.
    expect(compareRuns([base], [repeats('ws', FIVE, { config: { ...result('ws').config, out: 'elsewhere', repeat: 5, json: true } })]).outcome).toBe('pass');
  });

  it('writes a benchstat-like table, JSON and JUnit', () => {
    const comparison = compareRuns([repeats('ws', FIVE)], [repeats('ws', FIVE.map((v) => v * 1.3))]);
    const md = formatComparison(comparison, 'md');
    expect(md).toMatch(/\| ws +\| perMessage\.p50 \| +1\.00 ms \| ±\d+% \| +1\.30 ms \| ±\d+% \| +\+30\.0% \| 0\.008 \| 5\+5 \| REGRESSION \|/);
    expect(md).toContain('REGRESSION.');
    expect(JSON.parse(formatComparison(comparison, 'json')).outcome).toBe('regression');
    expect(formatComparison(comparison, 'junit')).toContain('<failure message="1.00 ms -&gt; 1.30 ms (+30.0%)');
  });

  it('reads --fail-on', () => {
    expect(parseFailOn('perMessage.p99:+15%', [])).toEqual([{ metric: 'perMessage.p99', change: 0.15 }]);
    expect(parseFailOn('throughput:-10%', [])).toEqual([{ metric: 'throughput', change: -0.1 }]);
    expect(() => parseFailOn('p99>15%', [])).toThrow('expected metric:+N% or metric:-N%');
    expect(() => parseFailOn('p98:+1%', [])).toThrow("unknown metric 'p98'");
  });

  it('gates throughput on a fall beyond --fail-on, never on a rise', () => {
    const rates = (values: readonly number[]) => summary(values.map((held, i) => result('ws', { scenario: 'throughput', repeat: i + 1, details: { scenario: 'throughput', steps: [], slo: 'p99<100ms', sustainedRatePerS: held, stoppedAt: null, verdict: '' } })), 'throughput');
    const base = rates([1000, 1000, 1000, 1000, 1000]);
    const fell = compareRuns([base], [rates([800, 800, 850, 800, 800])]);
    expect(fell.outcome).toBe('regression');
    expect(fell.rows.find((r) => r.metric === 'throughput')).toMatchObject({ verdict: 'REGRESSION', base: { median: '1000/s' }, next: { median: '800/s' } });
    const rose = compareRuns([base], [rates([1500, 1500, 1500, 1500, 1500])]);
    expect(rose.outcome).toBe('pass');
    expect(rose.rows.find((r) => r.metric === 'throughput')?.verdict).toBe('changed');
    // A fall within --fail-on is significant but passes; a burst has no throughput row.
    expect(compareRuns([base], [rates([950, 950, 950, 950, 950])]).rows.find((r) => r.metric === 'throughput')?.verdict).toBe('changed');
    expect(compareRuns([repeats('ws', FIVE)], [repeats('ws', FIVE)]).rows.some((r) => r.metric === 'throughput')).toBe(false);
  });

  it('reports the worst run of an exact counter, the spread of each side, and only transports both sides ran', () => {
    const lossy = (lost: readonly number[]) => summary(lost.map((n, i) => result('ws', { repeat: i + 1, messages: { ...result('ws').messages, received: 600 - n, lost: n } })));
    const comparison = compareRuns([lossy([2, 1, 2])], [lossy([2, 3, 1])]);
    expect(comparison.rows.find((r) => r.metric === 'lost')).toMatchObject({ verdict: 'REGRESSION', base: { median: '2', n: 3 }, next: { median: '3', n: 3 }, why: 'an exact count rose (2 -> 3 in the worst run)' });
    expect(comparison.rows.find((r) => r.metric === 'lost')?.change).toBeCloseTo(0.5, 10);
    expect(compareRuns([lossy([2])], [lossy([2])]).rows.find((r) => r.metric === 'lost')).toMatchObject({ verdict: 'pass', why: 'exact count, not higher', change: 0 });
    expect(compareRuns([lossy([0])], [lossy([0])]).rows.find((r) => r.metric === 'lost')?.change).toBeNull();
    // Spread: the largest distance from the median, in % of it (10 of 1000 here); none for one run.
    const p50 = compareRuns([repeats('ws', FIVE)], [repeats('ws', FIVE)]).rows.find((r) => r.metric === 'perMessage.p50')!;
    expect(p50).toMatchObject({ base: { n: 5, median: '1.00 ms', spread: '±1%' }, why: 'no significant change (p=1.000)' });
    expect(compareRuns([repeats('ws', [1000])], [repeats('ws', [1000])]).rows.find((r) => r.metric === 'perMessage.p50')?.base.spread).toBe('');
    // SSE ran only in BASE: nothing to compare it with, so no rows.
    const both = summary([...repeats('ws', FIVE).transports, ...repeats('sse', FIVE).transports]);
    expect(new Set(compareRuns([both], [repeats('ws', FIVE)]).rows.map((r) => r.transport))).toEqual(new Set(['ws']));
  });

  it('says exactly why it refuses, and what it accepts', () => {
    const base = repeats('ws', FIVE);
    expect(refusal(() => compareRuns([summary([])], [base]))).toContain('a run folder (or a folder of run folders) with at least one transport result');
    expect(refusal(() => compareRuns([base], [summary([result('ws', { scenario: 'ramp' })], 'ramp')]))).toContain('two runs of the same scenario');
    const failed = refusal(() => compareRuns([base], [summary([result('ws', { state: 'failed' })])]));
    expect(failed).toContain(`ws (${result('ws').startedAt}) failed`);
    expect(failed).toContain('completed runs only');
    // An option only one side has is named as absent on the other.
    const extra = refusal(() => compareRuns([repeats('ws', FIVE, { config: { ...result('ws').config, extra: 1 } })], [base]));
    expect(extra).toContain('extra: 1 in BASE, absent in NEW');
    expect(extra).toContain('two runs with the same configuration');
    expect(refusal(() => compareRuns([base], [repeats('ws', FIVE, { config: { ...result('ws').config, extra: 1 } })]))).toContain('extra: absent in BASE, 1 in NEW');
    // An option added later, at the value that does what runs without it did, is the same workload;
    // at any other value it is not (a baseline from before --http2 against a run with it).
    const withHttp2 = (http2: boolean) => repeats('ws', FIVE, { config: { ...result('ws').config, http2 } });
    expect(compareRuns([base], [withHttp2(false)]).outcome).toBe('pass');
    expect(compareRuns([withHttp2(false)], [base]).outcome).toBe('pass');
    expect(refusal(() => compareRuns([base], [withHttp2(true)]))).toContain('http2: false in BASE, true in NEW');
  });

  it('compares every transport both sides ran, each with its own spread; none around a zero median', () => {
    const both = (values: readonly number[]) => summary([...repeats('ws', values).transports, ...repeats('sse', values).transports]);
    const rows = compareRuns([both(FIVE)], [both(FIVE)]).rows.filter((r) => r.metric === 'perMessage.p50');
    expect(rows.map((r) => r.transport)).toEqual(['ws', 'sse']);
    // Two runs are enough for a spread: 50 of 1050 is ±5%.
    expect(compareRuns([repeats('ws', [1000, 1100])], [repeats('ws', [1000, 1100])]).rows.find((r) => r.metric === 'perMessage.p50')?.base.spread).toBe('±5%');
    expect(compareRuns([repeats('ws', [0, 0])], [repeats('ws', [0, 0])]).rows.find((r) => r.metric === 'perMessage.p50')?.base.spread).toBe('');
  });

  it('refuses an empty side, naming it', () => {
    expect(refusal(() => compareRuns([summary([])], [repeats('ws', FIVE)]))).toContain('BASE');
    expect(refusal(() => compareRuns([repeats('ws', FIVE)], [summary([])]))).toContain('NEW');
  });

  it('reads --fail-on exactly: decimals, spaces around it, nothing else', () => {
    expect(parseFailOn(' perMessage.p99:+12.25% ', [])).toEqual([{ metric: 'perMessage.p99', change: 0.1225 }]);
    expect(parseFailOn('p50:-5%', parseFailOn('p99:+1%', []))).toEqual([{ metric: 'p99', change: 0.01 }, { metric: 'p50', change: -0.05 }]);
    for (const text of ['perMessage.p99:+15%x', 'x perMessage.p99:+15%', 'perMessage.p99:+1.x%', 'perMessage.p99:15%']) expect(() => parseFailOn(text, []), text).toThrow();
  });
});
