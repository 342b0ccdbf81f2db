import { nowUs } from '../core/clock.js';
import type { Random } from '../core/random.js';
import type { DeliveryState } from './delivery.js';
import type { ReconnectPolicy, Subscription } from './types.js';

/**
 * Exponential backoff with jitter: after attempt n (0-based) wait between half and all of
 * min(max, base * 2^n). Jitter keeps thousands of clients cut at once from reconnecting in lockstep.
 */
export function reconnectDelayMs(policy: ReconnectPolicy, attempt: number, random: Random): number {
  const ceilingMs = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 20));
  return ceilingMs / 2 + random() * (ceilingMs / 2);
}

/**
 * The connection lifecycle every client shares: first connect, reconnect with backoff, counters,
 * and a close that stops everything. A transport supplies only `open`, which starts one connection
 * and reports back through the callbacks.
 */
export interface ConnectionCallbacks {
  /** The connection is established (for SSE: the `connected` event arrived). */
  opened(): void;
  /** The connection ended or failed; `code` names why. */
  lost(code: string): void;
}

/**
 * Connections of this thread's loops that are up right now. Kept as they open and close so that a
 * worker's twice-a-second report of live connections reads one number instead of asking each of its
 * thousands of subscriptions (that walk was a large share of what holding 10,000 idle connections
 * cost, by `perf`).
 */
let connectedLoops = 0;

/** Told each new count as it changes (one listener: the thread's shared live counters). */
let connectedWatcher: ((connected: number) => void) | null = null;

/** How many of this thread's connection loops are connected now. */
export function connectedCount(): number {
  return connectedLoops;
}

/** Has `listener` told the count now and at every change from here on. */
export function watchConnectedCount(listener: (connected: number) => void): void {
  connectedWatcher = listener;
  listener(connectedLoops);
}

export class ConnectionLoop {
  private attempt = 0;
  private everOpened = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  reconnects = 0;
  /** Connections lost after being established (not counting close()). */
  disconnects = 0;
  /** Failed attempts to (re)connect after the first connection. */
  failedAttempts = 0;
  /** Monotonic time (µs) the current or last connection was established. */
  openedUs = 0;
  /** Set only through setConnected, which keeps the thread's count. */
  connected = false;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  private current: { stop(): void } | null = null;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly random: Random,
    private readonly open: (callbacks: ConnectionCallbacks) => { stop(): void },
    private readonly onError: (code: string) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // A subscriber whose first connection fails rejects `ready`; nobody may be awaiting it yet.
    this.ready.catch(() => {});
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    let settled = false;
    let opened = false;
    this.current = this.open({
      opened: () => {
        // Once per connection: a transport that signals twice must not count a reconnect.
        if (settled || opened || this.closed) return;
        opened = true;
        this.setConnected(true);
        this.openedUs = nowUs();
        this.attempt = 0;
        if (this.everOpened) this.reconnects++;
        this.everOpened = true;
        this.resolveReady();
      },
      lost: (code) => {
        if (settled) return;
        settled = true;
        const wasConnected = this.connected;
        this.setConnected(false);
        this.current = null;
        if (this.closed) return;
        if (wasConnected) this.disconnects++;
        else if (this.everOpened) this.failedAttempts++;
        this.onError(code);
        if (!this.everOpened) {
          // The first connection failing is a setup error (bad URL, 404, refused), not churn to retry forever.
          this.closed = true;
          this.rejectReady(Object.assign(new Error(`first connection failed: ${code}`), { code }));
          return;
        }
        this.timer = setTimeout(() => {
          this.timer = null;
          this.connect();
        }, reconnectDelayMs(this.policy, this.attempt++, this.random));
      },
    });
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    connectedLoops += connected ? 1 : -1;
    this.connected = connected;
    connectedWatcher?.(connectedLoops);
  }

  interrupt(): void {
    this.current?.stop();
  }

  close(): void {
    if (!this.everOpened && !this.closed) this.rejectReady(Object.assign(new Error('closed before connecting'), { code: 'CLOSED' }));
    this.closed = true;
    this.setConnected(false);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.current?.stop();
    this.current = null;
  }
}

/** The Subscription every client returns: the loop's lifecycle plus the subscription's cursor and gap count. */
export function subscriptionOf(loop: ConnectionLoop, state: DeliveryState): Subscription {
  return {
    ready: loop.ready,
    stats: () => ({
      connected: loop.connected,
      reconnects: loop.reconnects,
      disconnects: loop.disconnects,
      failedAttempts: loop.failedAttempts,
      openedUs: loop.openedUs,
      gaps: state.gaps,
      sends: state.sends,
      cursor: state.cursor,
    }),
    interrupt: () => loop.interrupt(),
    close: async () => loop.close(),
  };
}
