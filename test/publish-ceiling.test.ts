import { describe, expect, it } from 'vitest';
import { highestPublishRate, publishCeiling } from '../load/publish-ceiling.js';
import type { PublishStep } from '../core/details.js';
import type { PublishChannel } from '../targets/types.js';

const step = (offeredPerS: number, held: boolean, kept = held, retry = false): PublishStep => ({
  offeredPerS, retry, achievedPerS: offeredPerS, sendLagP99Us: held ? 500 : 3000, publishRttP99Us: 800, failed: 0, held, kept,
});

describe('highestPublishRate', () => {
  it('is the highest rate before the first that failed, each rate judged by its last try', () => {
    // 2000/s missed once and held when tried again: it counts, and so do the rates after it.
    expect(highestPublishRate([step(1000, true), step(2000, false, true), step(2000, true, true, true), step(5000, true)], (s) => s.held)).toBe(5000);
    // Missed twice: the search for held rates stops there, whatever held above it.
    expect(highestPublishRate([step(1000, true), step(2000, false, true), step(2000, false, true, true), step(5000, true)], (s) => s.held)).toBe(1000);
    // Kept is judged the same way.
    expect(highestPublishRate([step(1000, true), step(2000, false, false), step(2000, false, true, true), step(5000, false, false)], (s) => s.kept)).toBe(2000);
    expect(highestPublishRate([step(1000, false), step(1000, false, false, true)], (s) => s.held)).toBeNull();
    expect(highestPublishRate([], (s) => s.held)).toBeNull();
  });
});

/** Answers at once, but holds the thread for `stallMs` on the first publish of its `stallTry`th step. */
function stallingChannel(stallTry: number, stallMs: number): { channel: PublishChannel; published: number[] } {
  const published: number[] = [];
  let steps = 0;
  return {
    published,
    channel: {
      publish: (_room, content) => {
        // Each step's markers count again from seq 0.
        if (Number(content.split('|')[2]) === 0) {
          steps++;
          published.push(0);
          if (steps === stallTry) {
            const until = performance.now() + stallMs;
            while (performance.now() < until);
          }
        }
        published[published.length - 1]!++;
        return Promise.resolve({ rttUs: 10, errorCode: null });
      },
      close: () => Promise.resolve(),
    },
  };
}

describe('publishCeiling', () => {
  it('tries a rate once more when its step was not on schedule, and records both tries', async () => {
    // The first rate's first try loses 60 ms to a stall: a quarter of its sends are late by more than
    // 5 ms. The stall is on the very first step: were it on a later one, a busy machine's miss of
    // an earlier step would make a retry of that step take the stall instead.
    const { channel, published } = stallingChannel(1, 60);
    const steps = await publishCeiling(channel, new AbortController().signal, { rates: [1000, 1500], seconds: 0.2 });
    expect(steps[0]).toMatchObject({ offeredPerS: 1000, retry: false, held: false, kept: false });
    expect(steps[1]).toMatchObject({ offeredPerS: 1000, retry: true });
    // Every try published its whole schedule.
    expect(published.slice(0, steps.length)).toEqual(steps.map((s) => Math.round(s.offeredPerS * 0.2)));
    // A try is retried only when it was not held, and only once.
    for (let i = 0; i < steps.length; i++) {
      if (steps[i]!.retry) expect(steps[i - 1]).toMatchObject({ offeredPerS: steps[i]!.offeredPerS, retry: false, held: false });
    }
  });
});
