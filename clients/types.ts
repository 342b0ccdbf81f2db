import type { Random } from '../core/random.js';
import type { TransportName } from '../core/transports.js';

/**
 * A resume position. Opaque to the clients: a target profile reads it from what arrives (a message
 * id, an SSE id, a pair of long-poll headers) and writes it into the next request.
 */
export type Cursor = string | number;

/** What a profile makes of one thing that arrived on a subscription. */
export interface Delivery {
  /** Each pushed message's `content` (where rtbench's marker travels) and the server's id for it. */
  readonly messages: ReadonlyArray<{ readonly content: string; readonly id?: Cursor }>;
  /** The cursor after this delivery; `undefined` leaves it as it was, `null` resets it. */
  readonly cursor?: Cursor | null;
  /** The server said messages are gone from its history (`from`..`to`, as it numbers them). */
  readonly gap?: { readonly from: Cursor; readonly to: Cursor } | null;
  /** Something that is not a message rtbench can read; counted by this code. */
  readonly error?: string;
  /** The answer ends the connection (a long poll refused with an HTTP error): the client reconnects. */
  readonly ends?: boolean;
}

export const NOTHING: Delivery = { messages: [] };

/**
 * Sends a text frame on the subscription's own connection (so --delay and the faults apply to it).
 * A send on a connection that is not open is dropped and counted as the error `WS_SEND_CLOSED`.
 */
export type SendText = (text: string) => void;

/** Sends a STOMP frame on the subscription's own connection (`STOMP_SEND_CLOSED` when it is not open). */
export type SendFrame = (command: string, headers: Readonly<Record<string, string>>, body?: string) => void;

/** How to subscribe over WebSocket: one frame in, zero or more messages out, and what the client says. */
export interface WsSpec {
  readonly transport: 'ws';
  url(cursor: Cursor | null): string;
  readonly headers: Readonly<Record<string, string>>;
  readonly protocols?: readonly string[];
  /** Called once each connection is open, before anything is read: a subscribe or join frame, a hello. */
  open?(send: SendText): void;
  /** `send` answers on the same connection: an application pong, an acknowledgement. */
  read(text: string, cursor: Cursor | null, send: SendText): Delivery;
}

/** How to subscribe over SSE (clients/sse.ts reads the stream as a browser EventSource does and keeps the `id:`). */
export interface SseSpec {
  readonly transport: 'sse';
  url(cursor: Cursor | null): string;
  headers(cursor: Cursor | null): Readonly<Record<string, string>>;
  /** The event that proves the stream is live (`connected`); null: the response head itself. */
  readonly openEvent: string | null;
  /** Event types to listen for (`message`, `gap`); each is handed to `read`. */
  readonly events: readonly string[];
  read(event: { readonly type: string; readonly data: string; readonly lastEventId: string }, cursor: Cursor | null): Delivery;
}

/** A request a long-polling profile makes: same origin as its polls. */
export interface PollRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** An HTTP answer as a long-polling profile reads it. */
export interface PollAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * How to long-poll: one request after another on one connection. A two-way profile (a session
 * handshake, an application pong) has `open` and `sendRequest`: what it sends is POSTed on a
 * second connection of the subscriber's own, beside the held poll, as a browser does.
 */
export interface LongPollSpec {
  readonly transport: 'long-polling';
  poll(cursor: Cursor | null): PollRequest;
  /**
   * A poll the server answers at once (e.g. `timeout=0`), sent first on each connection to prove it
   * works before it counts as open. Null when the server has none: the connection counts as open
   * once its socket is connected and the first poll is on it.
   */
  probe: ((cursor: Cursor | null) => PollRequest) | null;
  /** Reads the probe's answer when it is not a poll answer (a channel-info request); default `read`. */
  readProbe?(answer: PollAnswer): Delivery;
  /** How long one poll may take before the client gives up on it (the server's hold plus a margin). */
  readonly pollLimitMs: number;
  /**
   * Called at the start of each connection, before its first poll (and probe): a handshake that
   * opens a session (engine.io's open packet). `get` sends a request on the poll connection and
   * resolves with its answer; a rejection ends the connection, which is then retried as a refused one
   * is. Without a probe, the connection counts as open once `open` has resolved.
   */
  open?(get: (request: PollRequest) => Promise<PollAnswer>, send: SendText): Promise<void>;
  /**
   * The POST that carries what `open` and `read` send. Sends go one request at a time (engine.io
   * closes a session on overlapping POSTs): texts sent while one is in flight wait and go together
   * in the next, which this joins. An answer other than 2xx, or none, is an error `LP_SEND_...`.
   */
  sendRequest?(texts: readonly string[]): PollRequest & { readonly body: string };
  /** Reads one answer; a status the profile does not accept is returned as `error`, and ends the connection. */
  read(answer: PollAnswer, cursor: Cursor | null, send: SendText): Delivery;
  /**
   * How a browser page may build its next poll by itself after `cursor`, as a chat page's own script
   * would, instead of asking rtbench between polls (clients/browser). Rtbench still reads every
   * answer with `read` and checks that the page's next poll is the one `poll` would have sent.
   * Absent (or null) when the next poll needs more than the rule says: the page asks each time.
   */
  pageFollow?(cursor: Cursor | null): PageFollow | null;
}

/**
 * A next poll a page can derive from an answer: a 2xx `status` without any of `askOn` headers whose
 * body is a JSON array moves the cursor to the highest numeric `maxOf` field of its items (else it
 * stays), and the next poll is `url` with `{cursor}` replaced. Any other answer is asked about.
 */
export interface PageFollow {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly cursor: number;
  readonly maxOf: string;
  readonly status: number;
  readonly askOn: readonly string[];
}

/** How to subscribe over STOMP 1.2 on a WebSocket (clients/stomp.ts). */
export interface StompSpec {
  readonly transport: 'stomp';
  url(cursor: Cursor | null): string;
  /** Headers of the WebSocket handshake. */
  readonly headers: Readonly<Record<string, string>>;
  /** WebSocket subprotocols to offer (none unless the server wants one). */
  readonly protocols?: readonly string[];
  /** Headers of the CONNECT frame (asked again on every connection: a renewed token shows up here). */
  connectHeaders(): Readonly<Record<string, string>>;
  readonly destination: string;
  subscribeHeaders(cursor: Cursor | null): Readonly<Record<string, string>>;
  /** Heart-beat offered both ways; 0 turns heart-beats off. */
  readonly heartbeatMs: number;
  /** Called once each session is CONNECTED and subscribed: a frame of the application's own. */
  open?(send: SendFrame): void;
  /** `send` answers on the same connection (a SEND, an ACK). */
  read(frame: { readonly body: string; readonly headers: Readonly<Record<string, string>> }, cursor: Cursor | null, send: SendFrame): Delivery;
  /** A short code for an ERROR frame (counted, then the client reconnects). */
  errorCode(frame: { readonly body: string; readonly headers: Readonly<Record<string, string>> }): string;
  /** Called before reconnecting after an ERROR with this code; resolves once the session can be renewed (log in again). */
  renew?(errorCode: string): Promise<void>;
}

export type SubscribeSpec = WsSpec | SseSpec | LongPollSpec | StompSpec;
export type SpecOf<T extends TransportName> = Extract<SubscribeSpec, { transport: T }>;

/** What every transport client hands the scenario for each message it receives. */
export interface SubscriberHandlers {
  /** `receivedUs` is read from the shared monotonic clock the moment the bytes were parsed. */
  onMessage(content: string, receivedUs: number, id: Cursor | undefined): void;
  /** The server said messages `from`..`to` are gone (resume came too late, or it restarted). */
  onGap?(from: Cursor, to: Cursor): void;
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
  /** Resume after a disconnect with the cursor; off reproduces the study's clients. */
  readonly resume: boolean;
  readonly reconnect: ReconnectPolicy;
  readonly connectTimeoutMs: number;
  /** Source address for connections (127.0.0.x spreads sockets over several loopback addresses). */
  readonly localAddress?: string;
  readonly random: Random;
  /** SSE and long polling offer HTTP/2 to an https target and use it when the server agrees (clients/h2.ts). */
  readonly http2?: boolean;
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
  /** Frames and texts the profile sent on the subscription (a join, a pong) that went out. */
  readonly sends: number;
  /** The resume cursor. */
  readonly cursor: Cursor | null;
  /** The HTTP protocol of the current or last connection over TLS (`h2`, `http/1.1`); null otherwise. */
  readonly protocol?: 'h2' | 'http/1.1' | null;
}

export interface Subscription {
  /** Resolves when the first connection is established; rejects (with a coded error) if it fails. */
  readonly ready: Promise<void>;
  stats(): SubscriptionStats;
  /** Drops the current connection as a network failure would; the client then reconnects by itself. */
  interrupt(): void;
  close(): Promise<void>;
}

export interface TransportClient<T extends TransportName = TransportName> {
  readonly name: T;
  subscribe(context: ClientContext, spec: SpecOf<T>, handlers: SubscriberHandlers): Subscription;
}
