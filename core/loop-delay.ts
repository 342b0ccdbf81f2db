/** Resolution of every event-loop delay monitor rtbench runs (main thread and workers). */
export const LOOP_RESOLUTION_MS = 10;

/**
 * Node's event-loop monitor records the whole interval between its timer's firings, resolution
 * included, so the resolution is subtracted to get the delay itself: a reading in ns becomes whole
 * µs of delay, never negative.
 */
export function loopDelayUs(recordedNs: number, resolutionMs: number = LOOP_RESOLUTION_MS): number {
  return Math.max(0, Math.round(recordedNs / 1000) - resolutionMs * 1000);
}
