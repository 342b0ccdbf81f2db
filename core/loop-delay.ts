/**
 * Resolution of every event-loop delay monitor rtbench runs (main thread and workers). Each monitor
 * is a timer that wakes its thread this often even when nothing else happens, and on a VM a wake-up
 * is dear: at 10 ms the monitors were a large part of what holding 10,000 idle connections cost,
 * and 20 ms halves that. The price: a block of B ms
 * is read as a delay between B - 20 and B ms (the timer fell due somewhere in it), where 10 ms read
 * B - 10 to B: any block longer than 20 ms still shows, its length possibly read short by up to
 * the resolution.
 */
export const LOOP_RESOLUTION_MS = 20;

/**
 * Node's event-loop monitor records the whole interval between its timer's firings, resolution
 * included, so the resolution is subtracted to get the delay itself: a reading in ns becomes whole
 * µs of delay, never negative.
 */
export function loopDelayUs(recordedNs: number, resolutionMs: number = LOOP_RESOLUTION_MS): number {
  return Math.max(0, Math.round(recordedNs / 1000) - resolutionMs * 1000);
}
