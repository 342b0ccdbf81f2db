import { nowUs } from '../../core/clock.js';

/** How a page's clock reads on this thread's monotonic clock. */
export interface PageClock {
  /** Page time (µs since the epoch: `performance.timeOrigin + performance.now()`) minus this thread's clock. */
  readonly offsetUs: number;
  /** Half the shortest round trip of the probes: how far `offsetUs` can be off, either way. */
  readonly uncertaintyUs: number;
  /** The smallest step the page's clock was seen to take (Chromium coarsens it where pages are not isolated). */
  readonly resolutionUs: number;
}

/** Each probe is a DevTools round trip (about a millisecond); the shortest of these many bounds the offset. */
const PROBES = 40;

/**
 * The offset between a page's clock and this thread's, as NTP estimates one: read this clock, the
 * page's, this clock again; the page read its clock somewhere in between, so the probe with the
 * shortest round trip bounds the offset best. Both clocks advance with the machine's monotonic
 * time once the page exists (its `timeOrigin` is fixed), so one alignment holds for the page's life.
 */
export async function alignPageClock(readPageMs: () => Promise<number>, readResolutionUs: () => Promise<number>): Promise<PageClock> {
  let best = { offsetUs: 0, roundTripUs: Number.POSITIVE_INFINITY };
  for (let probe = 0; probe < PROBES; probe++) {
    const beforeUs = nowUs();
    const pageMs = await readPageMs();
    const afterUs = nowUs();
    const roundTripUs = afterUs - beforeUs;
    if (roundTripUs < best.roundTripUs) best = { offsetUs: pageMs * 1000 - (beforeUs + afterUs) / 2, roundTripUs };
  }
  return { offsetUs: best.offsetUs, uncertaintyUs: Math.ceil(best.roundTripUs / 2), resolutionUs: Math.round(await readResolutionUs()) };
}
