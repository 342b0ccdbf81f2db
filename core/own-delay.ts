/**
 * The generator's own share of a latency figure, bounded from above.
 *
 * A subscriber's receive time is stamped when its bytes come off the socket, before anything is
 * decoded (clients/read-turns.ts). A stamp can still be late for two reasons of rtbench's own: the
 * reads before it in the same event-loop turn, and, when the thread did not wait for I/O since its
 * previous turn, everything that turn did after its first read (its reads, then the decoding and
 * matching deferred until after them), since the bytes may have arrived at any time after that. The
 * read layer gives each read the start of that window; the time from it to the stamp is the
 * arrival's bound. What held the thread before the window (timers, GC, the machine) is not in it:
 * the CPU-wait and event-loop notes report that.
 *
 * The per-arrival bounds are counted in buckets of a quarter octave (an upper edge at most 25%
 * above any value in it), so a quantile read from them is still an upper bound, and two threads'
 * counts merge by adding.
 */
export interface OwnDelay {
  /** Largest bound of any arrival (µs). */
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
    // Never above the largest bound: that one is exact.
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

/**
 * One thread's meter: each measured arrival adds its bound (from the read layer, see
 * clients/read-turns.ts), capped by its latency: a message cannot have waited behind work done
 * before it was sent.
 */
export class OwnDelayMeter {
  private longestUs = 0;
  private counts = new Uint32Array(BUCKETS);

  note(boundUs: number, latencyUs = Number.POSITIVE_INFINITY): void {
    const us = latencyUs < boundUs ? latencyUs : boundUs > 0 ? boundUs : 0;
    if (us > this.longestUs) this.longestUs = us;
    const bucket = bucketOf(us);
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
  }

  /** Everything since the last reset. */
  snapshot(): OwnDelay {
    return { longestUs: Math.round(this.longestUs), counts: Array.from(this.counts) };
  }

  reset(): void {
    this.longestUs = 0;
    this.counts = new Uint32Array(BUCKETS);
  }
}
