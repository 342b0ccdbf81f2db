import { nowUs } from '../core/clock.js';

/**
 * The clock and the event loop a thread waits on before a scheduled send (the publisher, and a
 * subscriber thread kept awake for it). The real one is the default; a test passes its own to step
 * through time and see every wait chosen (test/support/fake-loop.ts).
 */
export interface Waiter {
  nowUs(): number;
  /** Calls `fn` after at least `ms` (a timer: about 1 ms late at best). */
  setTimer(fn: () => void, ms: number): unknown;
  /** Calls `fn` on the next turn of the event loop. */
  setTurn(fn: () => void): unknown;
  /** Forgets a timer not yet run (or undefined). */
  clearTimer(handle: unknown): void;
  /** Forgets a turn not yet run (or undefined). */
  clearTurn(handle: unknown): void;
  /** Blocks the thread for `us` (no event, no timer runs meanwhile). */
  sleep(us: number): void;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export const realWaiter: Waiter = {
  nowUs,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  setTurn: (fn) => setImmediate(fn),
  // Both ignore undefined.
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  clearTurn: (handle) => clearImmediate(handle as NodeJS.Immediate | undefined),
  // Atomics.wait: a futex with a timeout, finer than any timer.
  sleep: (us) => void Atomics.wait(sleeper, 0, 0, us / 1000),
};
