import { describe, expect, it } from 'vitest';
import { sleep } from '../core/sleep.js';

describe('sleep', () => {
  it('returns at once for an already aborted signal (no timer left behind)', async () => {
    const started = performance.now();
    await sleep(60_000, AbortSignal.abort());
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('returns early when the signal aborts while waiting', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(controller.signal.aborted).toBe(true);
  });
});
