/**
 * The generator's own share of a latency figure, bounded from above.
 *
 * When one message fans out to many subscribers held by one thread, their frames become readable
 * together and their receive handlers run back to back in one event-loop turn: the last of them is
 * timestamped only after all the earlier ones have run. That wait is rtbench's, not the server's.
 * This meter groups the receive timestamps of one turn (the turn ends at the next setImmediate,
 * which runs after every I/O callback and microtask of the poll phase). For each arrival, the time
 * from the turn's first stamp to its own stamp is an upper bound of how late the handlers before it
 * made it (an arrival that became readable during the turn waited less). Work done before the first
 * handler of a turn (timers, GC, the machine) is not in it; the event-loop delay reports that.
 *
 * The per-arrival bounds are counted in buckets of a quarter octave (an upper edge at most 25%
 * above any value in it), so a quantile read from them is still an upper bound, and two threads'
 * counts merge by adding.
 */
export interface OwnDelay {
  /** Longest run, first to last stamp of one turn (µs). */
  readonly longestUs: number;
  /** Arrivals per bucket; bucket i holds bounds below `bucketUpperUs(i)`. */
  readonly counts: readonly number[];
}

const BUCKETS = 1 + 28 * 4;

/** Bucket of a bound in µs: 0 below 8 µs, then four per power of two. */
export function bucketOf(valueUs: number): number {
  const v = Math.max(0, Math.floor(valueUs));
  if (v < 8) return 0;
  const exponent = Math.min(30, 31 - Math.clz32(v));
  const sub = (v >>> (exponent - 2)) & 3;
  return Math.min(BUCKETS - 1, 1 + (exponent - 3) * 4 + sub);
}

/** Exclusive upper edge of bucket `index`, µs. */
export function bucketUpperUs(index: number): number {
  if (index <= 0) return 8;
  const exponent = 3 + Math.floor((index - 1) / 4);
  const sub = (index - 1) % 4;
  return (5 + sub) * 2 ** (exponent - 2);
}

/** The q-quantile (0..1) of the per-arrival bounds, as an upper bound in µs; null with no arrivals. */
export function ownDelayQuantileUs(own: OwnDelay, q: number): number | null {
  const total = own.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let index = 0; index < own.counts.length; index++) {
    seen += own.counts[index] ?? 0;
    // Never above the longest run: that one is exact.
    if (seen >= rank) return Math.min(bucketUpperUs(index), Math.max(own.longestUs, 0));
  }
  return own.longestUs;
}

export function mergeOwnDelay(parts: readonly OwnDelay[]): OwnDelay {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const part of parts) part.counts.forEach((n, index) => (counts[index] = (counts[index] ?? 0) + n));
  return { longestUs: parts.reduce((max, p) => Math.max(max, p.longestUs), 0), counts };
}

export const NO_OWN_DELAY: OwnDelay = { longestUs: 0, counts: new Array<number>(BUCKETS).fill(0) };

export class HandlerRuns {
  private firstUs = 0;
  private lastUs = 0;
  private open = false;
  private longestUs = 0;
  private counts = new Uint32Array(BUCKETS);

  /**
   * Called by every measured receive handler with the timestamp it stamped its message with, and
   * the message's latency when known: a message cannot have waited for handlers that ran before it
   * was even sent, so its bound is never more than its latency (a long turn can span many messages).
   */
  note(receivedUs: number, latencyUs = Number.POSITIVE_INFINITY): void {
    if (!this.open) {
      this.open = true;
      this.firstUs = receivedUs;
      setImmediate(this.closeTurn);
    }
    this.lastUs = receivedUs;
    const boundUs = receivedUs - this.firstUs;
    (this.counts[bucketOf(latencyUs < boundUs ? latencyUs : boundUs)] as number)++;
  }

  private readonly closeTurn = (): void => {
    this.open = false;
    this.keep(Math.round(this.lastUs - this.firstUs));
  };

  private keep(spanUs: number): void {
    if (spanUs > this.longestUs) this.longestUs = spanUs;
  }

  /** Everything since the last reset; a turn still open counts from its first to its latest stamp. */
  snapshot(): OwnDelay {
    if (this.open) this.keep(Math.round(this.lastUs - this.firstUs));
    return { longestUs: this.longestUs, counts: Array.from(this.counts) };
  }

  reset(): void {
    this.longestUs = 0;
    this.counts = new Uint32Array(BUCKETS);
  }
}
