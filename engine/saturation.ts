import type { ProcessUsage } from '../core/result.js';

/**
 * Generator CPU above this share of each core it can use marks it saturated: one core for a
 * single-threaded generator (burst), min(threads, cores) cores for the ramp's worker threads.
 */
export const GENERATOR_CPU_LIMIT_PCT = 80;
/** Publisher sends later than this (p99) mean the generator could not keep its own schedule. */
export const SEND_LAG_LIMIT_US = 5_000;
/** Event-loop delay above this (p99 of any second) means arrivals were timestamped late. */
export const EVENT_LOOP_DELAY_LIMIT_US = 20_000;
export const PROXY_CPU_LIMIT_PCT = 80;

export function saturation(
  generator: ProcessUsage | null,
  eventLoopDelayP99UsMax: number,
  sendLagP99Us: number | null,
  proxy: ProcessUsage | null,
  usableCores = 1,
): { saturated: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const cpuLimitPct = GENERATOR_CPU_LIMIT_PCT * usableCores;
  if (generator?.cpuPctAvg != null && generator.cpuPctAvg > cpuLimitPct) {
    reasons.push(`generator CPU averaged ${generator.cpuPctAvg}% of one core (limit ${cpuLimitPct}% for ${usableCores} usable core${usableCores > 1 ? 's' : ''})`);
  }
  if (eventLoopDelayP99UsMax > EVENT_LOOP_DELAY_LIMIT_US) {
    reasons.push(`generator event-loop delay p99 reached ${(eventLoopDelayP99UsMax / 1000).toFixed(1)} ms (limit ${EVENT_LOOP_DELAY_LIMIT_US / 1000} ms)`);
  }
  if (sendLagP99Us !== null && sendLagP99Us > SEND_LAG_LIMIT_US) {
    reasons.push(`publisher sent late: p99 ${(sendLagP99Us / 1000).toFixed(1)} ms behind schedule (limit ${SEND_LAG_LIMIT_US / 1000} ms)`);
  }
  if (proxy?.cpuPctAvg != null && proxy.cpuPctAvg > PROXY_CPU_LIMIT_PCT) {
    reasons.push(`delay proxy CPU averaged ${proxy.cpuPctAvg}% of one core (limit ${PROXY_CPU_LIMIT_PCT}%)`);
  }
  return { saturated: reasons.length > 0, reasons };
}
