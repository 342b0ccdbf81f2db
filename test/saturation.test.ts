import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_DELAY_NOTE_US, GENERATOR_CPU_LIMIT_PCT, OWN_DELAY_FLOOR_US, PROXY_CPU_LIMIT_PCT, SEND_LAG_LIMIT_US, cpuWaitNote, loopDelayNote, ownDelayReason, saturation } from '../load/saturation.js';

const usage = (cpuPctAvg: number | null) => ({ cpuPctAvg, cpuPctMax: cpuPctAvg, rssBytesMax: 1 });

describe('saturation', () => {
  it('is not flagged at the limits, and is flagged just past each of them, with the reason and the numbers', () => {
    expect(saturation(usage(GENERATOR_CPU_LIMIT_PCT), { boundUs: 2_500, p99Us: 10_000 }, { lagP99Us: SEND_LAG_LIMIT_US, latencyP99Us: 10_000 }, usage(PROXY_CPU_LIMIT_PCT))).toEqual({ saturated: false, reasons: [] });
    expect(saturation(usage(80.1), null, null, null)).toEqual({ saturated: true, reasons: ['generator CPU averaged 80.1% of one core (limit 80% for 1 usable core)'] });
    expect(saturation(null, { boundUs: 2_501, p99Us: 10_000 }, null, null).reasons).toEqual([
      "the generator's own reads and handling may have stamped 1% of arrivals up to 2.5 ms late, which could explain that much of p99 10.0 ms (limit 25% of p99, at least 1 ms)",
    ]);
    expect(saturation(null, null, { lagP99Us: 5_001, latencyP99Us: null }, null).reasons).toEqual(['publisher sent late: p99 5.0 ms behind schedule (limit 5 ms, or 25% of p99 if more)']);
    expect(saturation(null, null, { lagP99Us: 5_001, latencyP99Us: 10_000 }, null).reasons).toEqual(['publisher sent late: p99 5.0 ms behind schedule, which could explain that much of p99 10.0 ms (limit 5 ms, or 25% of p99 if more)']);
    // Lateness small beside the latency it is part of explains little of it: a quarter of p99 at most.
    expect(saturation(null, null, { lagP99Us: 50_000, latencyP99Us: 200_000 }, null).saturated).toBe(false);
    expect(saturation(null, null, { lagP99Us: 50_001, latencyP99Us: 200_000 }, null).saturated).toBe(true);
    expect(saturation(null, null, null, usage(80.5)).reasons).toEqual(['delay proxy CPU averaged 80.5% of one core (limit 80%)']);
  });

  it('judges the own delay against the p99 it is part of, with a floor for fast runs', () => {
    // 40% of a 2 ms p99, but under the 1 ms floor: nothing a reader could mistake for the server.
    expect(ownDelayReason({ boundUs: OWN_DELAY_FLOOR_US, p99Us: 2_000 })).toBeNull();
    expect(ownDelayReason({ boundUs: OWN_DELAY_FLOOR_US + 1, p99Us: 2_000 })).toMatch(/up to 1\.0 ms .* of p99 2\.0 ms/);
    // 30 ms of own delay inside a 400 ms p99 is immaterial; inside a 100 ms p99 it is not.
    expect(ownDelayReason({ boundUs: 30_000, p99Us: 400_000 })).toBeNull();
    expect(ownDelayReason({ boundUs: 30_000, p99Us: 100_000 }, 'a subscriber worker')).toMatch(/^a subscriber worker's own reads and handling may have stamped 1% of arrivals up to 30\.0 ms late/);
    // Nothing measured: only the floor applies.
    expect(ownDelayReason({ boundUs: 1_500, p99Us: null })).toMatch(/up to 1\.5 ms .*which could explain that much \(limit/);
  });

  it('scales the generator CPU limit with the cores its threads can use', () => {
    expect(saturation(usage(150), null, null, null, 2).saturated).toBe(false);
    expect(saturation(usage(160), null, null, null, 2).saturated).toBe(false);
    expect(saturation(usage(160.1), null, null, null, 2).reasons).toEqual(['generator CPU averaged 160.1% of one core (limit 160% for 2 usable cores)']);
    expect(saturation(usage(81), null, null, null, 2).saturated).toBe(false);
  });

  it('lists every reason that applies, and ignores what was not measured', () => {
    const all = saturation(usage(99), { boundUs: 9_000, p99Us: 10_000 }, { lagP99Us: 9_000, latencyP99Us: 10_000 }, usage(95));
    expect(all.saturated).toBe(true);
    expect(all.reasons).toHaveLength(4);
    expect(saturation(usage(null), null, null, usage(null))).toEqual({ saturated: false, reasons: [] });
  });

  it('reports event-loop delay beyond the limit as a disturbance, not as saturation', () => {
    expect(loopDelayNote(EVENT_LOOP_DELAY_NOTE_US, 0)).toBeNull();
    // Its own handlers ran as long as the delay: nothing left to blame on the machine.
    expect(loopDelayNote(60_000, 60_000)).toBeNull();
    expect(loopDelayNote(EVENT_LOOP_DELAY_NOTE_US + 1, 1_200)).toBe(
      "a generator thread's event-loop delay p99 reached 20.0 ms while its receive handlers ran at most 1.2 ms in one turn: the rest came from outside them (GC, other processes, the machine), and latency may include it",
    );
  });

  it('notes a thread that waited for a CPU past the limit and past a quarter of p99, with the wait, and nothing below or where not read', () => {
    expect(cpuWaitNote(null, 10_000)).toBeNull();
    expect(cpuWaitNote(undefined, null)).toBeNull();
    expect(cpuWaitNote(EVENT_LOOP_DELAY_NOTE_US, null)).toBeNull();
    // A quarter of a 200 ms p99 is 50 ms: a wait of 40 ms could not explain that much of it.
    expect(cpuWaitNote(40_000, 200_000)).toBeNull();
    expect(cpuWaitNote(50_001, 200_000)).toContain('waited 50.0 ms for a CPU');
    expect(cpuWaitNote(EVENT_LOOP_DELAY_NOTE_US + 5_000, 30_000)).toBe(
      'a generator thread waited 25.0 ms for a CPU within one second (the server, other processes or the machine held the cores): an arrival it stamped in that second may be late by up to that, and latency (p99 30.0 ms) may include it',
    );
  });
});
