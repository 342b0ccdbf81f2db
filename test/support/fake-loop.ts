import type { Waiter } from '../../load/waiter.js';

interface Pending {
  readonly at: number;
  readonly fn: () => void;
}

/** A turn of the loop costs this much simulated time, so a publisher turning the loop still moves on. */
export const TURN_US = 20;

/**
 * A simulated clock and event loop for the publisher: time moves only when the test drives it, every
 * timer, turn and sleep the publisher asks for is seen, and answers come at the simulated time the
 * test decides. In the order of Node's loop: what is due (answers, timers) runs before the next turn.
 */
export class FakeLoop implements Waiter {
  timeUs = 1_000_000;
  readonly sleepsUs: number[] = [];
  /** The most timers and turns pending at once. */
  mostPending = 0;
  private readonly timers = new Set<Pending>();
  private readonly turns: Array<() => void> = [];
  private readonly events = new Set<Pending>();
  private turnPaid = false;

  nowUs(): number {
    return this.timeUs;
  }
  setTimer(fn: () => void, ms: number): unknown {
    // Node runs a timer of 0 ms after 1 ms, as it does one of 1 ms.
    const timer = { at: this.timeUs + Math.max(1, ms) * 1000, fn };
    this.timers.add(timer);
    this.notePending();
    return timer;
  }
  setTurn(fn: () => void): unknown {
    this.turns.push(fn);
    this.notePending();
    return fn;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as Pending);
  }
  clearTurn(handle: unknown): void {
    const at = this.turns.indexOf(handle as () => void);
    if (at >= 0) this.turns.splice(at, 1);
    if (this.turns.length === 0) this.turnPaid = false;
  }
  sleep(us: number): void {
    this.sleepsUs.push(us);
    this.timeUs += us;
  }
  /** Something from outside the publisher (an answer) at simulated time `atUs`. */
  at(atUs: number, fn: () => void): void {
    this.events.add({ at: atUs, fn });
  }
  pending(): number {
    return this.timers.size + this.turns.length;
  }

  /** Runs the next thing the loop would; false when nothing is left. */
  step(): boolean {
    const due = this.earliest();
    if (due && due.at <= this.timeUs) return this.run(due);
    if (this.turns.length > 0 && !this.turnPaid) {
      // The turn's time passes first: what comes due meanwhile (an answer) runs before the turn, as
      // Node polls for I/O before it runs what setImmediate queued.
      this.timeUs += TURN_US;
      this.turnPaid = true;
      return true;
    }
    const turn = this.turns.shift();
    if (turn) {
      this.turnPaid = false;
      turn();
      return true;
    }
    return due ? this.run(due) : false;
  }

  private earliest(): Pending | undefined {
    let first: Pending | undefined;
    // Answers before timers due at the same time: I/O of the loop's last turn before the next timer.
    for (const pending of [...this.events, ...this.timers]) if (!first || pending.at < first.at) first = pending;
    return first;
  }
  private run(pending: Pending): boolean {
    this.events.delete(pending);
    this.timers.delete(pending);
    this.timeUs = Math.max(this.timeUs, pending.at);
    pending.fn();
    return true;
  }
  private notePending(): void {
    this.mostPending = Math.max(this.mostPending, this.pending());
  }
}

/** Drives `loop` until `run` settles, letting promise callbacks run between steps; bounded in steps. */
export async function drive(loop: FakeLoop, run: Promise<unknown>, maxSteps = 100_000): Promise<void> {
  let settled = false;
  run.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < maxSteps; step++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (settled) return run.then(() => undefined);
    if (!loop.step()) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return run.then(() => undefined);
      throw new Error(`the run is stuck: nothing pending at ${loop.timeUs} µs and it has not ended`);
    }
  }
  throw new Error(`the run did not end within ${maxSteps} steps of the loop`);
}
