import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_DELAY_LIMIT_US, GENERATOR_CPU_LIMIT_PCT, PROXY_CPU_LIMIT_PCT, SEND_LAG_LIMIT_US, saturation } from '../engine/saturation.js';

const usage = (cpuPctAvg: number | null) => ({ cpuPctAvg, cpuPctMax: cpuPctAvg, rssBytesMax: 1 });

describe('saturation', () => {
  it('is not flagged at the limits, and is flagged just past each of them, with the reason and the numbers', () => {
    expect(saturation(usage(GENERATOR_CPU_LIMIT_PCT), EVENT_LOOP_DELAY_LIMIT_US, SEND_LAG_LIMIT_US, usage(PROXY_CPU_LIMIT_PCT))).toEqual({ saturated: false, reasons: [] });
    expect(saturation(usage(80.1), 0, null, null)).toEqual({ saturated: true, reasons: ['generator CPU averaged 80.1% of one core (limit 80% for 1 usable core)'] });
    expect(saturation(null, 20_001, null, null).reasons).toEqual(['generator event-loop delay p99 reached 20.0 ms (limit 20 ms)']);
    expect(saturation(null, 0, 5_001, null).reasons).toEqual(['publisher sent late: p99 5.0 ms behind schedule (limit 5 ms)']);
    expect(saturation(null, 0, null, usage(80.5)).reasons).toEqual(['delay proxy CPU averaged 80.5% of one core (limit 80%)']);
  });

  it('scales the generator CPU limit with the cores its threads can use', () => {
    expect(saturation(usage(150), 0, null, null, 2).saturated).toBe(false);
    expect(saturation(usage(160), 0, null, null, 2).saturated).toBe(false);
    expect(saturation(usage(160.1), 0, null, null, 2).reasons).toEqual(['generator CPU averaged 160.1% of one core (limit 160% for 2 usable cores)']);
    expect(saturation(usage(81), 0, null, null, 2).saturated).toBe(false);
  });

  it('lists every reason that applies, and ignores what was not measured', () => {
    const all = saturation(usage(99), 30_000, 9_000, usage(95));
    expect(all.saturated).toBe(true);
    expect(all.reasons).toHaveLength(4);
    expect(saturation(usage(null), 0, null, usage(null))).toEqual({ saturated: false, reasons: [] });
  });
});
