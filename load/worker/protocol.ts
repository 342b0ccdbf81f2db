import type { TransportName } from '../../core/transports.js';
import type { ProfileRef } from '../../targets/load.js';
import type { TargetContext } from '../../targets/types.js';
import type { PlannedMessage } from '../recorder.js';
import { type RecorderResult } from '../../core/result.js';
import type { OwnDelay } from '../../core/own-delay.js';
import type { TlsTrust } from '../../core/tls-trust.js';
import type { BrowserStatus } from '../../clients/browser/page-client.js';

/** How a worker builds its client contexts; everything is plain data, cloned into the thread. */
export interface WorkerInit {
  readonly transport: TransportName;
  /** The target profile, loaded again in the thread, and what the main thread provisioned with it. */
  readonly profile: ProfileRef;
  readonly target: TargetContext;
  readonly provisioned: unknown;
  readonly reconnect: { readonly baseMs: number; readonly maxMs: number };
  readonly seed: number;
  /** Source addresses to spread this worker's sockets over (empty: the system's choice). */
  readonly localAddresses: readonly string[];
  readonly runId: string;
  /** Default deadline; each `measure` request may set its own. */
  readonly deadlineUs: number;
  /** On an agent of another machine: subtracted from this thread's clock to read the coordinator's (agents/coordinator.ts). */
  readonly clockOffsetUs?: number;
  /** The run's TLS trust (--ca, --insecure), set in the thread before it connects. */
  readonly tlsTrust?: TlsTrust;
  /** This thread's subscribers are Chromium pages (`--browsers`), `perPage` to a page. */
  readonly browser?: { readonly chromiumPath: string; readonly perPage: number };
}

export interface SubscriberSpec {
  /** Global subscriber index, unique across workers. */
  readonly index: number;
  readonly room: number;
}

export type ToWorker =
  | { readonly id: number; readonly type: 'connect'; readonly subscribers: readonly SubscriberSpec[]; readonly concurrency: number }
  | { readonly id: number; readonly type: 'warm-reset' }
  | { readonly id: number; readonly type: 'warm-status' }
  | {
      readonly id: number;
      readonly type: 'measure';
      readonly plan: readonly PlannedMessage[];
      readonly startUs: number;
      readonly deadlineUs?: number;
      /** Keep the thread awake up to each send (load/worker/keep-awake.ts): for sparse schedules. */
      readonly keepAwake?: boolean;
    }
  | { readonly id: number; readonly type: 'wait-complete'; readonly untilUs: number }
  | { readonly id: number; readonly type: 'result'; readonly attempted: readonly number[] }
  | { readonly id: number; readonly type: 'status' }
  | { readonly id: number; readonly type: 'heap' }
  | { readonly id: number; readonly type: 'close' }
  | { readonly id: number; readonly type: 'clock'; readonly offsetUs: number };

/** Connection health of a worker's subscribers, summed (counters are cumulative since they connected). */
export interface ConnectionStatus {
  readonly held: number;
  readonly connected: number;
  readonly disconnects: number;
  readonly reconnects: number;
  readonly failedAttempts: number;
  readonly gaps: number;
  /** Frames and texts subscribers' profiles sent (joins, pongs) that went out. */
  readonly sends: number;
  /** Latest time (µs) any held subscriber's current connection was established: when all were back. */
  readonly lastOpenedUs: number;
  /** Errors by code (disconnect reasons, bad frames) since the subscribers connected. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface ConnectReply {
  readonly ok: number;
  /** Connected subscribers per room index: the audience each room's messages are expected by. */
  readonly okByRoom: Readonly<Record<number, number>>;
  readonly failed: Readonly<Record<string, number>>;
  /** Encoded histogram of connect times (subscribe call to first connection established), µs. */
  readonly connectHistogram: string;
  /**
   * The thread's live connections when it replied, so the pool's live count is current the moment
   * connecting ends instead of at the next 500 ms tick (a run's first sample read 0 before).
   */
  readonly connected: number;
  /** Subscribers this call connected, by the HTTP protocol their connection took over TLS (`h2`, `http/1.1`); absent when none went over TLS. */
  readonly protocols?: Readonly<Record<string, number>>;
}

export interface StepReply {
  readonly result: RecorderResult;
  readonly firstUs: Float64Array;
  readonly lastUs: Float64Array;
  readonly count: Uint32Array;
  readonly connected: number;
  readonly reconnects: number;
  readonly gaps: number;
  readonly sends: number;
  /** This step's receive handlers run back to back: the worker's own timestamping delay bound (core/own-delay.ts). */
  readonly ownDelay: OwnDelay;
  /** A browser thread's pages: clock alignment, crashes, and the browser's CPU (during the step) and memory. */
  readonly browser?: BrowserStatus;
}

/** Sent by a worker every 500 ms without being asked: live counters and its own event-loop health. */
export interface Tick {
  readonly type: 'tick';
  readonly connected: number;
  readonly arrivals: number;
  /** Fraction of the last interval the worker's event loop was busy (0..1). */
  readonly utilization: number;
  /** The longest garbage-collection pause of the worker since its last tick (µs). */
  readonly gcPauseMaxUs: number;
}

/** A subscriber thread as the pool sees it: a worker_threads Worker here, or a thread on an agent (agents/coordinator.ts). */
export interface PoolMember {
  postMessage(message: ToWorker): void;
  on(event: 'message', listener: (message: FromWorker) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<unknown>;
}

export type FromWorker = { readonly id: number; readonly type: 'reply'; readonly value: unknown } | { readonly id: number; readonly type: 'error'; readonly message: string } | Tick;
