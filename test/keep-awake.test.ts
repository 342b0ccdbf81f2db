import { describe, expect, it } from 'vitest';
import { LEAD_US, TURN_LEAD_US, keepAwake } from '../load/worker/keep-awake.js';
import { FakeLoop, TURN_US } from './support/fake-loop.js';

/** A loop that notes the simulated time of every turn asked for and of every sleep. */
class NotingLoop extends FakeLoop {
  readonly turnsAtUs: number[] = [];
  readonly sleeps: Array<{ fromUs: number; us: number }> = [];
  override setTurn(fn: () => void): unknown {
    this.turnsAtUs.push(this.timeUs);
    return super.setTurn(fn);
  }
  override sleep(us: number): void {
    this.sleeps.push({ fromUs: this.timeUs, us });
    super.sleep(us);
  }
}

/** Steps the loop until nothing is pending or `untilUs` passes; bounded in steps. */
function runUntil(loop: FakeLoop, untilUs: number): void {
  for (let step = 0; step < 1_000_000 && loop.timeUs < untilUs; step++) if (!loop.step()) return;
}

describe('keepAwake', () => {
  it('sleeps on timers between sends, in short slices just before one, and turns the loop up to it', () => {
    const loop = new NotingLoop();
    const t0 = loop.timeUs;
    const dueUs = [t0 + 10_000, t0 + 60_000];
    keepAwake(dueUs, loop);
    runUntil(loop, t0 + 100_000);
    expect(loop.pending()).toBe(0);
    for (const due of dueUs) {
      const turns = loop.turnsAtUs.filter((at) => at > due - 20_000 && at <= due);
      const sleeps = loop.sleeps.filter((s) => s.fromUs > due - 20_000 && s.fromUs <= due);
      // Awake from the lead on (a timer fires late, never more than a millisecond early here).
      expect(Math.min(...turns, ...sleeps.map((s) => s.fromUs))).toBeGreaterThanOrEqual(due - LEAD_US - 1000);
      // Slices of at most 250 us, none running into the last stretch, which is turned.
      expect(sleeps.length).toBeGreaterThan(0);
      for (const slice of sleeps) {
        expect(slice.us).toBeGreaterThan(0);
        expect(slice.us).toBeLessThanOrEqual(250);
        expect(slice.fromUs + slice.us).toBeLessThanOrEqual(due - TURN_LEAD_US);
      }
      expect(turns.filter((at) => at >= due - TURN_LEAD_US).length).toBeGreaterThan(TURN_LEAD_US / TURN_US / 2 - 1);
      // Turning goes on until the send is due, and stops there.
      expect(Math.max(...turns)).toBeGreaterThanOrEqual(due - 2 * TURN_US);
    }
    // After a send it neither turns nor sleeps until the next one's lead: it waits on timers.
    const between = (at: number) => at > (dueUs[0] as number) + TURN_US && at < (dueUs[1] as number) - LEAD_US - 1000;
    expect(loop.turnsAtUs.some(between)).toBe(false);
    expect(loop.sleeps.some((s) => between(s.fromUs))).toBe(false);
    expect(loop.turnsAtUs.some((at) => at > (dueUs[1] as number) + TURN_US)).toBe(false);
  });

  it('turns at once for a send closer than the lead, and asks for nothing once every send is due', () => {
    const loop = new NotingLoop();
    const due = loop.timeUs + 100;
    keepAwake([due, due], loop);
    expect(loop.sleeps).toEqual([]);
    expect(loop.turnsAtUs).toEqual([loop.timeUs]);
    runUntil(loop, due + 10_000);
    expect(loop.pending()).toBe(0);
    expect(loop.turnsAtUs.every((at) => at < due)).toBe(true);
  });

  it('leaves nothing pending once stopped, asleep on a timer or turning', () => {
    for (const stopAtUs of [2_000, 9_900]) {
      const loop = new NotingLoop();
      const stop = keepAwake([loop.timeUs + 10_000], loop);
      runUntil(loop, loop.timeUs + stopAtUs);
      expect(loop.pending()).toBe(1);
      stop();
      expect(loop.pending()).toBe(0);
    }
  });

  it('asks for nothing when there is nothing to send', () => {
    const loop = new NotingLoop();
    keepAwake([], loop);
    expect(loop.pending()).toBe(0);
  });
});
