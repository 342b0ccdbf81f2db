/**
 * The one clock rtbench measures with.
 *
 * `process.hrtime` reads CLOCK_MONOTONIC on Linux and macOS: one counter for the whole machine, not
 * per process. A timestamp taken in the publisher can therefore be subtracted from one taken in a
 * worker thread or another process of the same machine (test/clock.test.ts proves it). Wall-clock
 * time (`Date.now()`) is not used for latency: NTP can step it backwards in the middle of a run.
 */
export function nowUs(): number {
  // Microseconds since an arbitrary origin (boot). Whole numbers, and far below 2^53, so a Number is exact.
  return Number(process.hrtime.bigint() / 1000n) - offsetUs;
}

/**
 * Another machine's monotonic clock has another origin. A load-generating agent on another machine
 * subtracts the offset the coordinator estimated (agents/coordinator.ts), so the times its threads take
 * read on the coordinator's clock. 0 everywhere else, and on an agent that shares the machine.
 */
let offsetUs = 0;

export function setClockOffsetUs(us: number): void {
  offsetUs = Math.round(us);
}
