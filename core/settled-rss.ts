import { sleep } from './sleep.js';

/** How often RSS is read while it settles. */
const POLL_MS = 25;
/** Readings in a row that must not fall for RSS to count as settled (100 ms at 25 ms). */
const STEADY_READINGS = 4;
/** A fall of at most this counts as none: an idle process's RSS moves by a few pages. */
const STEADY_BYTES = 64 * 1024;

export interface SettleOptions {
  /** The longest wait (default 2 s); the reading then is an upper bound of the settled RSS. */
  readonly maxWaitMs?: number;
  readonly signal?: AbortSignal;
  /** For tests: where readings and waits come from. */
  readonly readRssBytes?: () => number;
  readonly wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface SettledRss {
  readonly rssBytes: number;
  /** False when the wait ran out (or was aborted) while RSS was still falling. */
  readonly settled: boolean;
  readonly waitedMs: number;
}

/**
 * The process's RSS once it has stopped falling, read after full GCs.
 *
 * Right after a compacting GC the RSS reads higher than before it: the pages the live objects were
 * moved into are resident, and the pages they left are handed back to the OS by V8's background
 * threads afterwards, tens of milliseconds later on an idle machine and later still on a busy one.
 * A reading taken at once is high by whatever is still to go back, a different amount each time,
 * which made a soak's "RSS after GC" scatter and its slope meaningless. So it is read every 25 ms
 * until it has not fallen for 100 ms, or until `maxWaitMs`.
 */
export async function settledRssBytes(options: SettleOptions = {}): Promise<SettledRss> {
  const read = options.readRssBytes ?? (() => process.memoryUsage.rss());
  const wait = options.wait ?? sleep;
  const maxPolls = Math.max(0, Math.floor((options.maxWaitMs ?? 2000) / POLL_MS));
  let previous = read();
  let steady = 0;
  for (let poll = 1; poll <= maxPolls; poll++) {
    await wait(POLL_MS, options.signal);
    if (options.signal?.aborted) return { rssBytes: previous, settled: false, waitedMs: (poll - 1) * POLL_MS };
    const current = read();
    steady = previous - current > STEADY_BYTES ? 0 : steady + 1;
    previous = current;
    if (steady >= STEADY_READINGS) return { rssBytes: current, settled: true, waitedMs: poll * POLL_MS };
  }
  return { rssBytes: previous, settled: false, waitedMs: maxPolls * POLL_MS };
}
