import type { AgentClock } from '../core/details.js';

/** How far an estimate may stray beyond its own uncertainty and still be read as one shared clock. */
export const SHARED_TOLERANCE_US = 1000;

/** One ping through Redis and back: the agent's raw clock read somewhere between the coordinator's two readings. */
export interface Ping {
  readonly sentUs: number;
  readonly agentUs: number;
  readonly receivedUs: number;
}

/**
 * The agent's clock minus ours, read against the middle of the round trip (as NTP does): wrong by
 * at most half the round trip, whatever the two legs took.
 */
export function offsetOf(ping: Ping): { readonly offsetUs: number; readonly roundTripUs: number } {
  const roundTripUs = ping.receivedUs - ping.sentUs;
  return { offsetUs: Math.round(ping.agentUs - (ping.sentUs + ping.receivedUs) / 2), roundTripUs };
}

/** The ping with the shortest round trip (its estimate is the tightest); null when none came back. */
export function bestPing(pings: ReadonlyArray<Ping | null>): Ping | null {
  let best: Ping | null = null;
  for (const ping of pings) if (ping && (!best || ping.receivedUs - ping.sentUs < best.receivedUs - best.sentUs)) best = ping;
  return best;
}

/** The clock before any estimate: nothing applied yet. */
export const UNESTIMATED: AgentClock = { kind: 'estimated', offsetUs: 0, estimatedOffsetUs: 0, uncertaintyUs: 0, uncertaintyUsMax: 0, estimates: 0 };

/**
 * The agent's clock after one more estimate. One clock (nothing applied) only when the machine is
 * the same (`sameBoot`: equal Linux boot ids) and the estimate agrees with that: a process in a time
 * namespace shares the boot id but not CLOCK_MONOTONIC. Decided at the first estimate and kept.
 */
export function nextClock(previous: AgentClock, best: Ping, sameBoot: boolean): AgentClock {
  const { offsetUs, roundTripUs } = offsetOf(best);
  const uncertaintyUs = Math.ceil(roundTripUs / 2);
  const kind = previous.estimates > 0 ? previous.kind : sameBoot && Math.abs(offsetUs) <= uncertaintyUs + SHARED_TOLERANCE_US ? 'shared' : 'estimated';
  return {
    kind,
    offsetUs: kind === 'shared' ? 0 : offsetUs,
    estimatedOffsetUs: offsetUs,
    uncertaintyUs,
    uncertaintyUsMax: Math.max(previous.uncertaintyUsMax, uncertaintyUs),
    estimates: previous.estimates + 1,
  };
}
