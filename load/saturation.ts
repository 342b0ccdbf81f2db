import type { ProcessUsage } from '../core/result.js';

/**
 * Generator CPU above this share of each core it can use marks it saturated: one core for a
 * single-threaded generator (burst), min(threads, cores) cores for the ramp's worker threads.
 */
export const GENERATOR_CPU_LIMIT_PCT = 80;
/**
 * Publisher sends later than this (p99), and later than the share of the latency p99 below, mean
 * the generator could not keep its own schedule: a late send adds its lateness to its message's
 * latency (measured from the schedule), so lateness small beside that latency explains little of it.
 */
export const SEND_LAG_LIMIT_US = 5_000;
/**
 * The generator's own timestamping delay (its reads, and the handling they may have waited behind,
 * see core/own-delay.ts) may be at most this share of the p99 it is part of, and never needs to be
 * below the floor: past that, p99 says more about rtbench than about the server.
 */
export const OWN_DELAY_SHARE_OF_P99 = 0.25;
export const OWN_DELAY_FLOOR_US = 1_000;
/** Event-loop delay above this (p99 of a second) is reported as a disturbance next to the numbers. */
export const EVENT_LOOP_DELAY_NOTE_US = 20_000;
export const PROXY_CPU_LIMIT_PCT = 80;

/** The publisher's lateness against the latency figure it could have inflated. */
export interface SendLag {
  /** p99 of how late sends started against their schedule (µs), or the quantile `quantile` names. */
  readonly lagP99Us: number | null;
  /** Which quantile `lagP99Us` is, when not p99 (a short step's p99 is its one worst send). */
  readonly quantile?: string;
  /** The per-message p99 measured over the same time (µs), null when nothing was measured. */
  readonly latencyP99Us: number | null;
}

/** The generator's own delay against the latency figure it could have inflated. */
export interface OwnDelay {
  /** p99 over arrivals of the upper bound of how late the generator stamped one because of its own reads and handling (µs). */
  readonly boundUs: number;
  /** The per-message p99 measured over the same time (µs), null when nothing was measured. */
  readonly p99Us: number | null;
}

const ms = (us: number): string => (us / 1000).toFixed(1);

/** Null when the generator's own delay is immaterial to p99; otherwise the reason, with its numbers. */
export function ownDelayReason(own: OwnDelay, where = 'the generator'): string | null {
  const limitUs = Math.max(OWN_DELAY_FLOOR_US, OWN_DELAY_SHARE_OF_P99 * (own.p99Us ?? 0));
  if (own.boundUs <= limitUs) return null;
  const of = own.p99Us === null ? '' : ` of p99 ${ms(own.p99Us)} ms`;
  return `${where}'s own reads and handling may have stamped 1% of arrivals up to ${ms(own.boundUs)} ms late, which could explain that much${of} (limit ${OWN_DELAY_SHARE_OF_P99 * 100}% of p99, at least ${OWN_DELAY_FLOOR_US / 1000} ms)`;
}

/**
 * Whether rtbench itself may have limited the numbers: its CPU, its own timestamping delay against
 * the p99 it is part of, its publisher's schedule, the proxy's CPU. Event-loop delay alone is not a
 * reason any more: on a shared machine it is mostly other processes and the VM (see
 * `loopDelayNote`), and the part rtbench causes by its own fan-out is what `own` bounds.
 */
export function saturation(
  generator: ProcessUsage | null,
  own: OwnDelay | null,
  sendLag: SendLag | null,
  proxy: ProcessUsage | null,
  usableCores = 1,
): { saturated: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const cpuLimitPct = GENERATOR_CPU_LIMIT_PCT * usableCores;
  if (generator?.cpuPctAvg != null && generator.cpuPctAvg > cpuLimitPct) {
    reasons.push(`generator CPU averaged ${generator.cpuPctAvg}% of one core (limit ${cpuLimitPct}% for ${usableCores} usable core${usableCores > 1 ? 's' : ''})`);
  }
  const ownReason = own ? ownDelayReason(own) : null;
  if (ownReason) reasons.push(ownReason);
  const lagUs = sendLag?.lagP99Us ?? null;
  const lagLimitUs = Math.max(SEND_LAG_LIMIT_US, OWN_DELAY_SHARE_OF_P99 * (sendLag?.latencyP99Us ?? 0));
  if (lagUs !== null && lagUs > lagLimitUs) {
    const of = sendLag?.latencyP99Us == null ? '' : `, which could explain that much of p99 ${ms(sendLag.latencyP99Us)} ms`;
    reasons.push(`publisher sent late: ${sendLag?.quantile ?? 'p99'} ${ms(lagUs)} ms behind schedule${of} (limit ${SEND_LAG_LIMIT_US / 1000} ms, or ${OWN_DELAY_SHARE_OF_P99 * 100}% of p99 if more)`);
  }
  if (proxy?.cpuPctAvg != null && proxy.cpuPctAvg > PROXY_CPU_LIMIT_PCT) {
    reasons.push(`delay proxy CPU averaged ${proxy.cpuPctAvg}% of one core (limit ${PROXY_CPU_LIMIT_PCT}%)`);
  }
  return { saturated: reasons.length > 0, reasons };
}

/**
 * A generator thread's callbacks ran this late, beyond what its own receive handlers explain: the
 * latency figures can hold that much of the machine's noise (GC, other processes, the VM's
 * scheduling). Reported beside the numbers; null below the limit, or when the longest run of its
 * own receive handlers is as long (then the delay is the generator's own, and judged as such).
 */
export function loopDelayNote(eventLoopDelayP99UsMax: number, ownBoundUs: number): string | null {
  if (eventLoopDelayP99UsMax <= EVENT_LOOP_DELAY_NOTE_US || eventLoopDelayP99UsMax <= ownBoundUs) return null;
  return `a generator thread's event-loop delay p99 reached ${ms(eventLoopDelayP99UsMax)} ms while its receive handlers ran at most ${ms(ownBoundUs)} ms in one turn: the rest came from outside them (GC, other processes, the machine), and latency may include it`;
}

/**
 * Where no event-loop monitor ran (subscribers in worker threads), the machine's part is read from
 * the threads' waits for a CPU: a thread that waited this long within one second may have stamped
 * an arrival that much late. The sum of a second's waits bounds each of them, so this says "up to".
 * Noted beside the numbers, not judged (the server under test is among what held the cores), when
 * it is over the event-loop note's limit and could explain more of p99 than the generator's own
 * delay may (a 2-core machine running server and generator makes waits of tens of ms routine).
 */
export function cpuWaitNote(cpuWaitUsMax: number | null | undefined, p99Us: number | null): string | null {
  if (cpuWaitUsMax == null || cpuWaitUsMax <= Math.max(EVENT_LOOP_DELAY_NOTE_US, OWN_DELAY_SHARE_OF_P99 * (p99Us ?? 0))) return null;
  const of = p99Us === null ? '' : ` (p99 ${ms(p99Us)} ms)`;
  return `a generator thread waited ${ms(cpuWaitUsMax)} ms for a CPU within one second (the server, other processes or the machine held the cores): an arrival it stamped in that second may be late by up to that, and latency${of} may include it`;
}
