/**
 * A local subscriber thread's live counters in memory it shares with the main thread: the
 * connections it holds, the arrivals it has taken, and its longest garbage-collection pause since
 * the main thread last looked. The thread writes them as they change and the pool reads them when
 * it wants them, so neither thread is woken for them: on a VM, where waking a sleeping thread costs
 * far more than the work it wakes for, a report posted twice a second by each worker was a large
 * part of what the generator spent between fan-outs. A thread on an agent of another machine has no
 * shared memory with the coordinator and still posts ticks (protocol.ts).
 */

/** Float64 slots: written by the worker alone, read by the main thread (a stale read is one read early). */
const CONNECTED = 0;
const ARRIVALS = 1;
const COUNTER_BYTES = 2 * Float64Array.BYTES_PER_ELEMENT;
/** Int32 slot after the counters: the worker raises it, the main thread takes it and sets 0 (Atomics, so no pause is lost between the two). */
const PAUSE_BYTES = Int32Array.BYTES_PER_ELEMENT;
/** Longest pause kept (µs): about 35 minutes, far beyond any pause that leaves a run alive. */
const PAUSE_MAX_US = 0x7fffffff;

export class LiveCells {
  private readonly counters: Float64Array;
  private readonly pause: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(COUNTER_BYTES + PAUSE_BYTES)) {
    this.counters = new Float64Array(buffer, 0, 2);
    this.pause = new Int32Array(buffer, COUNTER_BYTES, 1);
  }

  setConnected(connected: number): void {
    this.counters[CONNECTED] = connected;
  }

  setArrivals(arrivals: number): void {
    this.counters[ARRIVALS] = arrivals;
  }

  /** Keeps the longest pause since the last `takePauseMaxUs`. */
  notePause(pauseUs: number): void {
    const us = Math.min(PAUSE_MAX_US, Math.max(0, Math.round(pauseUs)));
    for (let seen = Atomics.load(this.pause, 0); us > seen; ) {
      const was = Atomics.compareExchange(this.pause, 0, seen, us);
      if (was === seen) return;
      seen = was;
    }
  }

  get connected(): number {
    return this.counters[CONNECTED] as number;
  }

  get arrivals(): number {
    return this.counters[ARRIVALS] as number;
  }

  /** The longest pause noted since the last call, and starts over. */
  takePauseMaxUs(): number {
    return Atomics.exchange(this.pause, 0, 0);
  }
}
