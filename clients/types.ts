import type { Dispatcher } from 'undici';
import type { Random } from '../bench/random.js';

export type { TransportName } from '../servers/app.js';

/** What every transport client hands the scenario for each message it receives. */
export interface SubscriberHandlers {
  /** `receivedUs` is read from the shared monotonic clock the moment the bytes were parsed. */
  onMessage(content: string, receivedUs: number, id: number): void;
  /** The server said messages `from`..`to` are gone from its history (resume came too late). */
  onGap?(from: number, to: number): void;
  /** A failure the client recovered from (or will retry); counted by `code`. */
  onError?(code: string): void;
}

export interface ReconnectPolicy {
  /** First wait after a disconnect; doubled per failed attempt up to `maxMs`, then jittered. */
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Everything a client needs that is the same for every subscriber of one run. */
export interface ClientContext {
  /** Base URL of contract A (built-in server, delay proxy, or `--target`). */
  readonly baseUrl: string;
  /** Sent on every request and WebSocket upgrade (e.g. Authorization). */
  readonly headers: Readonly<Record<string, string>>;
  /** Resume after a disconnect (WebSocket/long polling `since`, SSE `Last-Event-ID`); off reproduces the seed. */
  readonly resume: boolean;
  readonly reconnect: ReconnectPolicy;
  readonly connectTimeoutMs: number;
  /** Long polling: the `timeout` asked of the server. */
  readonly pollTimeoutMs: number;
  /** Shared HTTP connection pool for SSE and long polling (bound to `localAddress` when one is set). */
  readonly dispatcher: Dispatcher;
  /** Source address for WebSocket connections (127.0.0.x spreads sockets over several loopback addresses). */
  readonly localAddress?: string;
  readonly random: Random;
}

export interface SubscriptionStats {
  readonly connected: boolean;
  /** Connections opened after the first one, whatever the reason. */
  readonly reconnects: number;
  /** Established connections that were lost (a cut, a server restart), not counting close(). */
  readonly disconnects: number;
  /** Reconnect attempts that failed (refused, timed out, HTTP error). */
  readonly failedAttempts: number;
  /** Monotonic time (µs) the current or last connection was established. */
  readonly openedUs: number;
  readonly gaps: number;
  /** Highest message id seen: the resume cursor. */
  readonly lastId: number;
}

export interface Subscription {
  /** Resolves when the first connection is established; rejects (with a coded error) if it fails. */
  readonly ready: Promise<void>;
  stats(): SubscriptionStats;
  /** Drops the current connection as a network failure would; the client then reconnects by itself. */
  interrupt(): void;
  close(): Promise<void>;
}

export interface TransportClient {
  readonly name: 'ws' | 'sse' | 'long-polling';
  subscribe(context: ClientContext, chatRoomId: string, handlers: SubscriberHandlers): Subscription;
}
