import { type Waiter, realWaiter } from '../waiter.js';

/**
 * Keeps a subscriber thread awake up to each scheduled send, as the publishing thread is, so that it
 * waits for the fan-out from a fresh idle rather than from a sleep as long as the gap between sends.
 * On a VM the wake-up from a long sleep was seen to land in the stamps of a sparse schedule such as a
 * burst's (rtbench's delay, not the server's); awake up to the send, its stamps came close to those
 * the publishing thread took itself (docs/architecture.md). Turning the loop after the send as well made things
 * worse on two cores: a thread spinning while the server fans out takes the core one of them needs.
 *
 * Between sends the thread sleeps on a timer. A timer fires up to a millisecond late, so it wakes
 * LEAD_US early, sleeps in slices of at most SLICE_US until TURN_LEAD_US before the send (a thread
 * turning there would take a core from the publisher, which then sends late), and turns its event
 * loop from then until the send is due (each turn polls the sockets without blocking).
 */

export const LEAD_US = 1500;
export const TURN_LEAD_US = 200;
const SLICE_US = 250;
/** Timers fire late, never early by more than the loop's rounding: the wake-up is set this much sooner. */
const TIMER_MARGIN_MS = 1;

/**
 * Keeps the thread awake up to each of the sends due at `dueUs` (ascending, on `waiter`'s clock).
 * Returns a stop function (called when the round's result is asked for, or the thread closes).
 */
export function keepAwake(dueUs: readonly number[], waiter: Waiter = realWaiter): () => void {
  let index = 0;
  let stopped = false;
  let timer: unknown;
  let turn: unknown;
  const step = (): void => {
    timer = undefined;
    turn = undefined;
    if (stopped) return;
    const now = waiter.nowUs();
    while (index < dueUs.length && now >= (dueUs[index] as number)) index++;
    if (index >= dueUs.length) return;
    const due = dueUs[index] as number;
    if (now < due - LEAD_US) {
      timer = waiter.setTimer(step, Math.max(0, Math.floor((due - LEAD_US - now) / 1000) - TIMER_MARGIN_MS));
      return;
    }
    const sliceUs = Math.min(SLICE_US, due - TURN_LEAD_US - now);
    if (sliceUs > 0) waiter.sleep(sliceUs);
    turn = waiter.setTurn(step);
  };
  step();
  return () => {
    stopped = true;
    waiter.clearTimer(timer);
    waiter.clearTurn(turn);
  };
}
