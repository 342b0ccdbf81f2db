import type { Environment } from './environment.js';
import type { LatencyStats } from './histogram.js';
import type { LatencyKind, MessageCounts } from './recorder.js';
import type { ProcessUsage, SampleRow } from './sampler.js';

/**
 * The shape of summary.json. Documented field by field in docs/summary-schema.md; bump
 * SCHEMA_VERSION whenever a field changes meaning or is removed (adding one is compatible).
 */
export const SCHEMA_ID = 'rtbench.summary';
export const SCHEMA_VERSION = 1;

export type RunState = 'completed' | 'failed' | 'aborted';

export interface GeneratorUsage extends ProcessUsage {
  /** True when rtbench itself, not the server, may have limited the numbers. */
  readonly saturated: boolean;
  readonly saturationReasons: readonly string[];
  readonly eventLoopDelayP99UsMax: number;
}

export interface TransportResult {
  readonly transport: string;
  readonly scenario: string;
  readonly state: RunState;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The full configuration of this run, common and scenario options alike. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly environment: Environment;
  /** `built-in` or the `--target` URL. */
  readonly server: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly latencyUs: Readonly<Record<LatencyKind, LatencyStats>>;
  readonly messages: MessageCounts;
  /** Subscriber x burst pairs; ok when that subscriber received the whole burst within the deadline. */
  readonly subscriberBursts: { readonly ok: number; readonly failed: number; readonly pending: number };
  readonly connections: { readonly subscribers: number; readonly reconnects: number; readonly gaps: number };
  readonly errors: Readonly<Record<string, number>>;
  /** CPU and RSS of the built-in server process; null for `--target` (not ours to sample). */
  readonly serverUsage: ProcessUsage | null;
  readonly generator: GeneratorUsage;
  /** CPU and RSS of the delay proxy process; null when no delay was asked for. */
  readonly proxyUsage: ProcessUsage | null;
  /** HdrHistogram V2 compressed base64, one per latency kind, to merge or re-read at any precision. */
  readonly histograms: Readonly<Record<LatencyKind, string>>;
  /** Scenario-specific report: for a ramp, the per-step table and the breaking point. */
  readonly details: Readonly<Record<string, unknown>> | null;
  /** Per-second resource samples (also in samples.csv). */
  readonly samples: readonly SampleRow[];
}

export interface RunSummary {
  readonly schema: typeof SCHEMA_ID;
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly runId: string;
  readonly scenario: string;
  readonly state: RunState;
  /** Present (true) on a summary written during the run; if rtbench is no longer running, it stopped there. */
  readonly checkpoint?: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: readonly string[];
  readonly environment: Environment;
  readonly transports: readonly TransportResult[];
}

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
