import { describe, expect, it } from 'vitest';
import { SHARED_TOLERANCE_US, UNESTIMATED, bestPing, nextClock, offsetOf } from '../agents/clock-offset.js';

describe("an agent's clock offset, estimated through Redis", () => {
  it('reads the agent against the middle of the round trip', () => {
    // Sent at 1,000, answered at 1,600 by an agent 5,000,000 µs ahead that read its clock at the midpoint.
    expect(offsetOf({ sentUs: 1000, agentUs: 5_001_300, receivedUs: 1600 })).toEqual({ offsetUs: 5_000_000, roundTripUs: 600 });
    // Half a microsecond rounds to the nearest whole one.
    expect(offsetOf({ sentUs: 0, agentUs: 10, receivedUs: 3 }).offsetUs).toBe(9);
    expect(offsetOf({ sentUs: 0, agentUs: -10, receivedUs: 1 }).offsetUs).toBe(-10);
  });

  it('keeps the ping with the shortest round trip, and none when none came back', () => {
    const slow = { sentUs: 0, agentUs: 50, receivedUs: 900 };
    const fast = { sentUs: 100, agentUs: 150, receivedUs: 300 };
    const tie = { sentUs: 400, agentUs: 450, receivedUs: 600 };
    expect(bestPing([slow, null, fast, tie])).toBe(fast);
    expect(bestPing([null, slow])).toBe(slow);
    expect(bestPing([null, null])).toBeNull();
    expect(bestPing([])).toBeNull();
  });

  it('calls the clock shared only on the same machine when the estimate agrees, and decides once', () => {
    const near = { sentUs: 0, agentUs: 500 + SHARED_TOLERANCE_US + 500, receivedUs: 1000 };
    // Offset 1,500 µs, uncertainty 500: exactly at the tolerance, still one clock.
    const shared = nextClock(UNESTIMATED, near, true);
    expect(shared).toEqual({ kind: 'shared', offsetUs: 0, estimatedOffsetUs: 1500, uncertaintyUs: 500, uncertaintyUsMax: 500, estimates: 1 });
    // One microsecond further: another clock, the offset applied.
    const beyond = nextClock(UNESTIMATED, { ...near, agentUs: near.agentUs + 1 }, true);
    expect(beyond).toMatchObject({ kind: 'estimated', offsetUs: 1501 });
    // Below it too, in the other direction.
    expect(nextClock(UNESTIMATED, { sentUs: 0, agentUs: 500 - 1501, receivedUs: 1000 }, true)).toMatchObject({ kind: 'estimated', offsetUs: -1501 });
    // Another machine: estimated, even at offset 0.
    expect(nextClock(UNESTIMATED, { sentUs: 0, agentUs: 500, receivedUs: 1000 }, false)).toMatchObject({ kind: 'estimated', offsetUs: 0 });
    // Later estimates keep the first decision, apply the new offset, and keep the largest uncertainty.
    const later = nextClock(beyond, { sentUs: 0, agentUs: 51, receivedUs: 100 }, true);
    expect(later).toEqual({ kind: 'estimated', offsetUs: 1, estimatedOffsetUs: 1, uncertaintyUs: 50, uncertaintyUsMax: 500, estimates: 2 });
    expect(nextClock(shared, { sentUs: 0, agentUs: 9_000_000, receivedUs: 3001 }, true)).toEqual({ kind: 'shared', offsetUs: 0, estimatedOffsetUs: 8_998_500, uncertaintyUs: 1501, uncertaintyUsMax: 1501, estimates: 2 });
  });
});
