import type net from 'node:net';
import { BodyReader, type BodyFraming, framingOf } from './http-body.js';
import { HeadReader, connectRaw, requestHeadFor } from './raw-socket.js';

/** A whole HTTP answer, stamped when its last byte came off the socket. */
export interface Answer {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly receivedUs: number;
}

/** A kept answer past this many bytes fails the request: a server cannot make a client hold without bound. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface Pending {
  readonly request: string;
  /** Keep the body's bytes (a poll's answer), or only count them (a publish's). */
  readonly keepBody: boolean;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
  readonly head: HeadReader;
  /** When it fails as not answered in time (performance.now() ms), Infinity for no limit. */
  readonly deadlineMs: number;
  status: number;
  headers: Map<string, string>;
  framing: BodyFraming | null;
  body: BodyReader | null;
  keepAlive: boolean;
  readonly parts: Buffer[];
  /** Bytes of the body kept so far. */
  keptBytes: number;
}

/** Statuses whose answers never have a body, whatever their headers say (RFC 9112 6.3). */
const NO_BODY = new Set([204, 304]);

/**
 * What follows the origin in a URL that serialising a URL object would leave as it is: a path ('/')
 * or, with none, a query ('?'), of characters URL parsing neither escapes nor decodes, no dot
 * segment and no fragment. Anything else is parsed, so the request is the same either way.
 */
const AS_SERIALISED = /^(?:[/?](?![^?]*\/\.)[\w\-.~!$&'()*+,;=:@/?]*)$/;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const failure = (code: string): Error => Object.assign(new Error(code), { code });

/**
 * One HTTP/1.1 connection on a bare socket (raw-socket.ts) that carries one request at a time, as a
 * browser's long poll holds one: kept open between requests, opened again when the server closed
 * it. Long polling's polls and the publisher's POSTs go over these. Failures reject with a `code`:
 * the socket's own (ECONNREFUSED, ...), or, after the connection's prefix (`LP` for a long poll,
 * `PUBLISH` for a publish), `_CONNECT_TIMEOUT`, `_TIMEOUT` (no whole answer within the request's
 * limit), `_BAD_RESPONSE`, `_BAD_CHUNK`, `_DISCONNECTED` (closed before the answer was whole); or
 * `INTERRUPTED` (`abort`).
 */
export class KeepAliveConnection {
  private socket: net.Socket | null = null;
  private connected = false;
  private connectTimer: NodeJS.Timeout | null = null;
  private pending: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  /** The stamp of this connection's latest read. */
  private lastReadUs = 0;
  /** `origin.origin` and `origin.host`, read once (URL getters serialise on every read). */
  private readonly originText: string;
  private readonly hostText: string;

  constructor(
    private readonly origin: URL,
    private readonly options: {
      readonly connectTimeoutMs: number;
      readonly localAddress?: string;
      /** Prefix of its failure codes (default `LP`). */
      readonly codePrefix?: string;
      /** Read answers as they come rather than after their turn's reads (raw-socket.ts, `immediate`). */
      readonly immediate?: boolean;
    },
    /** Called each time a socket is connected (a long poll without a probe counts as open then). */
    private readonly onSocketOpen: () => void = () => {},
  ) {
    this.originText = origin.origin;
    this.hostText = origin.host;
  }

  /** Whether a socket is connected now. */
  get socketUp(): boolean {
    return this.connected;
  }

  /** Whether a request is in flight on it. */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** Sends a GET of `url` (same origin) and resolves with the whole answer; `limitMs` 0: no limit. */
  get(url: URL | string, headers: Readonly<Record<string, string>>, limitMs: number): Promise<Answer> {
    return this.request('GET', url, headers, null, limitMs);
  }

  /**
   * Sends a request of `url` (same origin) with `body` (null: none) and resolves with the whole
   * answer; `keepBody` false reads the body without keeping it (`body` is then '', and `headers` empty).
   */
  request(method: string, url: URL | string, headers: Readonly<Record<string, string>>, body: string | null, limitMs: number, keepBody = true): Promise<Answer> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    const request = this.requestOf(method, url, body === null ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }) + (body ?? '');
    return new Promise<Answer>((resolve, reject) => {
      this.pending = {
        request,
        keepBody,
        resolve,
        reject,
        head: new HeadReader(),
        deadlineMs: limitMs > 0 ? this.armTimer(limitMs) : Number.POSITIVE_INFINITY,
        status: 0,
        headers: new Map(),
        framing: null,
        body: null,
        keepAlive: true,
        parts: [],
        keptBytes: 0,
      };
      if (this.socket === null) this.open();
      else if (this.connected) this.socket.write(this.pending.request);
    });
  }

  /**
   * The request head for `url`. A URL string that starts with this connection's origin (as a
   * profile's serialised URLs do) is cut after it rather than parsed: a URL object per poll, and the
   * head built from it, cost about twice as much as the cut. Anything else is parsed.
   */
  private requestOf(method: string, url: URL | string, headers: Readonly<Record<string, string>>): string {
    if (typeof url === 'string') {
      const origin = this.originText;
      const rest = url.slice(origin.length);
      if (url.startsWith(origin) && AS_SERIALISED.test(rest)) return requestHeadFor(rest.startsWith('?') ? `/${rest}` : rest, this.hostText, [], headers, method);
      url = new URL(url);
    }
    return requestHeadFor(`${url.pathname || '/'}${url.search}`, url.host, [], headers, method);
  }

  /**
   * One timer per connection, re-armed for each request (refresh(), no new timer a request); when it
   * fires it fails the request in flight only if that request's deadline has passed. Returns the deadline.
   */
  private armTimer(limitMs: number): number {
    if (this.timer === null || this.timerMs !== limitMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timerMs = limitMs;
      this.timer = setTimeout(this.onTimer, limitMs);
      // The request's socket keeps the process alive while it matters.
      this.timer.unref();
    } else this.timer.refresh();
    return performance.now() + limitMs;
  }

  private readonly onTimer = (): void => {
    if (!this.pending) return;
    // Node times a timer from the loop's cached clock, so it can fire a little before the deadline:
    // it is then armed again for what is left, so no request fails before its limit.
    const leftMs = this.pending.deadlineMs - performance.now();
    if (leftMs > 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timerMs = -1;
      this.timer = setTimeout(this.onTimer, Math.ceil(leftMs));
      this.timer.unref();
      return;
    }
    this.fail(this.code('TIMEOUT'));
  };

  /** An error code with this connection's prefix. */
  private code(what: string): string {
    return `${this.options.codePrefix ?? 'LP'}_${what}`;
  }

  /** Fails the request in flight with `INTERRUPTED` and closes the socket. */
  abort(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending) this.fail('INTERRUPTED');
    else this.drop();
  }

  private open(): void {
    const socket = connectRaw(
      { url: this.origin, ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}), ...(this.options.immediate ? { immediate: true } : {}) },
      () => {
        if (this.socket !== socket) return;
        this.connected = true;
        this.clearConnectTimer();
        this.onSocketOpen();
        if (this.pending) socket.write(this.pending.request);
      },
      (data, start, end, receivedUs) => {
        if (this.socket === socket) this.onBytes(data, start, end, receivedUs);
      },
    );
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.fail(this.code('CONNECT_TIMEOUT')), this.options.connectTimeoutMs);
    socket.on('error', (error: Error & { code?: string }) => {
      if (this.socket === socket) this.fail(error.code ?? this.code('DISCONNECTED'));
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      // A body delimited by the connection closing ends here; any other answer was cut short.
      if (this.pending?.framing?.kind === 'close') this.complete(this.pending, this.lastReadUs);
      else this.fail(this.code('DISCONNECTED'));
    });
  }

  private onBytes(data: Buffer, start: number, end: number, receivedUs: number): void {
    this.lastReadUs = receivedUs;
    const pending = this.pending;
    // Bytes with no request in flight: not an answer to anything, so the connection is not HTTP we can follow.
    if (!pending) return this.drop();
    if (!pending.body) {
      const head = pending.head.push(data, start, end);
      if (head === null) return;
      if (head === 'bad') return this.fail(this.code('BAD_RESPONSE'));
      pending.status = head.status;
      pending.headers = head.headers;
      const framing = NO_BODY.has(head.status) ? ({ kind: 'length', bytes: 0 } as const) : framingOf(head.headers);
      if (framing === 'bad') return this.fail(this.code('BAD_RESPONSE'));
      pending.framing = framing;
      pending.keepAlive = framing.kind !== 'close' && (head.headers.get('connection') ?? '').toLowerCase() !== 'close';
      // The body's bytes are views of the shared read buffer: copied before the read returns.
      pending.body = new BodyReader(framing, pending.keepBody ? (bytes, from, to) => this.keep(pending, bytes.subarray(from, to)) : () => {});
      return this.feed(pending, head.rest, 0, head.rest.length, receivedUs);
    }
    this.feed(pending, data, start, end, receivedUs);
  }

  /** Keeps a body's bytes (copied: they are views of the shared read buffer), up to MAX_BODY_BYTES. */
  private keep(pending: Pending, bytes: Uint8Array): void {
    pending.keptBytes += bytes.length;
    if (pending.keptBytes <= MAX_BODY_BYTES) pending.parts.push(Buffer.from(bytes));
  }

  private feed(pending: Pending, data: Buffer, start: number, end: number, receivedUs: number): void {
    const body = pending.body as BodyReader;
    const done = body.done || body.feed(data, start, end);
    if (body.broken) return this.fail(this.code('BAD_CHUNK'));
    if (pending.keptBytes > MAX_BODY_BYTES) return this.fail(this.code('BODY_TOO_LARGE'));
    if (done) this.complete(pending, receivedUs);
  }

  private complete(pending: Pending, receivedUs: number): void {
    this.pending = null;
    if (!pending.keepAlive) this.drop();
    const body = pending.parts.length === 0 ? '' : pending.parts.length === 1 ? (pending.parts[0] as Buffer).toString('utf8') : Buffer.concat(pending.parts).toString('utf8');
    // An answer whose body is not kept (a publish's) is judged by its status alone: its headers are not copied either.
    pending.resolve({ status: pending.status, headers: pending.keepBody ? Object.fromEntries(pending.headers) : NO_HEADERS, body, receivedUs });
  }

  private fail(code: string): void {
    const pending = this.pending;
    this.pending = null;
    this.drop();
    if (!pending) return;
    pending.reject(failure(code));
  }

  /** Closes the socket; the next request opens a new one. */
  private drop(): void {
    this.clearConnectTimer();
    const socket = this.socket;
    this.socket = null;
    this.connected = false;
    socket?.destroy();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }
}
