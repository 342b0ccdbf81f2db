import { readFileSync } from 'node:fs';
import type { FromWorker, ToWorker, WorkerInit } from '../load/worker/protocol.js';
import type { WireProfile } from './profiles-dir.js';

/**
 * What a coordinator and its agents say to each other through Redis, and under which keys. Two
 * lists per agent and run carry messages (one each way, read with BLPOP, so nothing is lost while a
 * side is busy); two keys that expire carry liveness: an agent's registration, refreshed every
 * second, and the coordinator's claim on it, refreshed the same way. Whichever side stops refreshing
 * is gone within LIVENESS_MS, and every key expires by itself, so a killed process leaves nothing.
 */
export const LIVENESS_MS = 3000;
export const REFRESH_MS = 1000;
/** Lists expire this long after their last message: a side that died leaves no key for long. */
export const LIST_TTL_MS = 60_000;

export const agentKey = (name: string): string => `rtbench:agent:${name}`;
export const claimKey = (name: string): string => `rtbench:agent:${name}:claim`;
/** Everything one run puts in Redis is under this prefix: two runs sharing one Redis never mix. */
export const runPrefix = (runId: string): string => `rtbench:run:${runId}`;
export const inboxKey = (runId: string, name: string): string => `${runPrefix(runId)}:${name}:in`;
export const outboxKey = (runId: string, name: string): string => `${runPrefix(runId)}:${name}:out`;

/** An agent's registration, refreshed every second. */
export interface AgentInfo {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  /** Linux boot id: equal on two processes of one machine, whose monotonic clocks are one clock. */
  readonly bootId: string;
  readonly cores: number;
  /** The run it serves, or null while it waits for work. */
  readonly runId: string | null;
  /** CPU time the agent process (all its threads) has used since it started, µs. */
  readonly cpuUs: number;
}

/** Coordinator to agent. A session is one pool of subscriber threads (one transport of the run). */
export type ToAgent =
  | { readonly t: 'open'; readonly session: number; readonly workerIndexes: readonly number[]; readonly init: Omit<WorkerInit, 'profile'>; readonly profile: WireProfile; readonly clockOffsetUs: number }
  | { readonly t: 'msg'; readonly session: number; readonly thread: number; readonly body: ToWorker }
  | { readonly t: 'terminate'; readonly session: number; readonly thread: number }
  | { readonly t: 'ping'; readonly id: number }
  | { readonly t: 'clock'; readonly offsetUs: number }
  | { readonly t: 'end' };

/** Agent to coordinator. */
export type FromAgent =
  | { readonly t: 'msg'; readonly session: number; readonly thread: number; readonly body: FromWorker }
  | { readonly t: 'exit'; readonly session: number; readonly thread: number; readonly code: number; readonly error?: string }
  | { readonly t: 'pong'; readonly id: number; readonly agentUs: number };

const TYPED = { Float64Array, Uint32Array, Int32Array, Uint8Array } as const;
type TypedName = keyof typeof TYPED;

/** JSON, except that typed arrays (a step's arrival times) survive the trip as typed arrays. */
export function encodeWire(message: ToAgent | FromAgent): string {
  return JSON.stringify(message, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const name = value.constructor.name;
      if (name in TYPED) return { $typed: name, values: Array.from(value as unknown as ArrayLike<number>) };
    }
    return value;
  });
}

export function decodeWire<T extends ToAgent | FromAgent>(text: string): T {
  return JSON.parse(text, (_key, value: unknown) => {
    const typed = value as { $typed?: TypedName; values?: number[] } | null;
    if (typed && typeof typed === 'object' && typed.$typed && typed.$typed in TYPED && Array.isArray(typed.values)) {
      return TYPED[typed.$typed].from(typed.values);
    }
    return value;
  }) as T;
}

/** This machine's boot id (Linux), or '' where there is none: then no two processes are assumed to share a clock. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
