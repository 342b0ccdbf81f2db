import type net from 'node:net';
import { nowUs } from '../core/clock.js';
import { BodyReader, type BodyFraming, framingOf } from './http-body.js';
import { HeadReader, connectRaw, requestHeadFor } from './raw-socket.js';

/** A whole HTTP answer, stamped when its last byte was read. */
export interface Answer {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly receivedUs: number;
}

interface Pending {
  readonly request: string;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
  readonly head: HeadReader;
  readonly timer: NodeJS.Timeout | null;
  status: number;
  headers: Map<string, string>;
  framing: BodyFraming | null;
  body: BodyReader | null;
  keepAlive: boolean;
  readonly parts: Buffer[];
}

/** Statuses whose answers never have a body, whatever their headers say (RFC 9112 6.3). */
const NO_BODY = new Set([204, 304]);

/**
 * What follows the origin in a URL that serialising a URL object would leave as it is: a path ('/')
 * or, with none, a query ('?'), of characters URL parsing neither escapes nor decodes, no dot
 * segment and no fragment. Anything else is parsed, so the request is the same either way.
 */
const AS_SERIALISED = /^(?:[/?](?![^?]*\/\.)[\w\-.~!$&'()*+,;=:@/?]*)$/;

const failure = (code: string): Error => Object.assign(new Error(code), { code });

/**
 * One HTTP/1.1 connection on a bare socket (raw-socket.ts) that carries one GET at a time, as a
 * browser's long poll holds one: kept open between requests, opened again when the server closed
 * it. It replaces an undici `Client` per long-polling subscriber, whose per-request machinery cost
 * the generator more CPU per delivery than the server spent (issue 10). Failures reject with a
 * `code`: the socket's own (ECONNREFUSED, ...), `LP_CONNECT_TIMEOUT`, `LP_TIMEOUT` (no whole answer
 * within the request's limit), `LP_BAD_RESPONSE`, `LP_BAD_CHUNK`, `LP_DISCONNECTED` (closed before
 * the answer was whole) or `INTERRUPTED` (`abort`).
 */
export class KeepAliveGet {
  private socket: net.Socket | null = null;
  private connected = false;
  private connectTimer: NodeJS.Timeout | null = null;
  private pending: Pending | null = null;
  /** `origin.origin` and `origin.host`, read once (URL getters serialise on every read). */
  private readonly originText: string;
  private readonly hostText: string;

  constructor(
    private readonly origin: URL,
    private readonly options: { readonly connectTimeoutMs: number; readonly localAddress?: string },
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

  /** Sends a GET of `url` (same origin) and resolves with the whole answer; `limitMs` 0: no limit. */
  get(url: URL | string, headers: Readonly<Record<string, string>>, limitMs: number): Promise<Answer> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    const request = this.requestOf(url, headers);
    return new Promise<Answer>((resolve, reject) => {
      this.pending = {
        request,
        resolve,
        reject,
        head: new HeadReader(),
        timer: limitMs > 0 ? setTimeout(() => this.fail('LP_TIMEOUT'), limitMs) : null,
        status: 0,
        headers: new Map(),
        framing: null,
        body: null,
        keepAlive: true,
        parts: [],
      };
      if (this.socket === null) this.open();
      else if (this.connected) this.socket.write(this.pending.request);
    });
  }

  /**
   * The request head for `url`. A URL string that starts with this connection's origin (as a
   * profile's serialised URLs do) is cut after it rather than parsed: a URL object per poll and the
   * head built from it took 0.7-1.2 µs against 0.4-0.5 (micro-benchmark, 200,000 heads).
   * Anything else is parsed.
   */
  private requestOf(url: URL | string, headers: Readonly<Record<string, string>>): string {
    if (typeof url === 'string') {
      const origin = this.originText;
      const rest = url.slice(origin.length);
      if (url.startsWith(origin) && AS_SERIALISED.test(rest)) return requestHeadFor(rest.startsWith('?') ? `/${rest}` : rest, this.hostText, [], headers);
      url = new URL(url);
    }
    return requestHeadFor(`${url.pathname || '/'}${url.search}`, url.host, [], headers);
  }

  /** Fails the request in flight with `INTERRUPTED` and closes the socket. */
  abort(): void {
    if (this.pending) this.fail('INTERRUPTED');
    else this.drop();
  }

  private open(): void {
    const socket = connectRaw(
      { url: this.origin, ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}) },
      () => {
        if (this.socket !== socket) return;
        this.connected = true;
        this.clearConnectTimer();
        this.onSocketOpen();
        if (this.pending) socket.write(this.pending.request);
      },
      (data, start, end) => {
        if (this.socket === socket) this.onBytes(data, start, end);
      },
    );
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.fail('LP_CONNECT_TIMEOUT'), this.options.connectTimeoutMs);
    socket.on('error', (error: Error & { code?: string }) => {
      if (this.socket === socket) this.fail(error.code ?? 'LP_DISCONNECTED');
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      // A body delimited by the connection closing ends here; any other answer was cut short.
      if (this.pending?.framing?.kind === 'close') this.complete(this.pending);
      else this.fail('LP_DISCONNECTED');
    });
  }

  private onBytes(data: Buffer, start: number, end: number): void {
    const pending = this.pending;
    // Bytes with no request in flight: not an answer to anything, so the connection is not HTTP we can follow.
    if (!pending) return this.drop();
    if (!pending.body) {
      const head = pending.head.push(data, start, end);
      if (head === null) return;
      if (head === 'bad') return this.fail('LP_BAD_RESPONSE');
      pending.status = head.status;
      pending.headers = head.headers;
      const framing = NO_BODY.has(head.status) ? ({ kind: 'length', bytes: 0 } as const) : framingOf(head.headers);
      if (framing === 'bad') return this.fail('LP_BAD_RESPONSE');
      pending.framing = framing;
      pending.keepAlive = framing.kind !== 'close' && (head.headers.get('connection') ?? '').toLowerCase() !== 'close';
      // The body's bytes are views of the shared read buffer: copied before the read returns.
      pending.body = new BodyReader(framing, (bytes, from, to) => void pending.parts.push(Buffer.from(bytes.subarray(from, to))));
      return this.feed(pending, head.rest, 0, head.rest.length);
    }
    this.feed(pending, data, start, end);
  }

  private feed(pending: Pending, data: Buffer, start: number, end: number): void {
    const body = pending.body as BodyReader;
    const done = body.done || body.feed(data, start, end);
    if (body.broken) return this.fail('LP_BAD_CHUNK');
    if (done) this.complete(pending);
  }

  private complete(pending: Pending): void {
    const receivedUs = nowUs();
    if (pending.timer) clearTimeout(pending.timer);
    this.pending = null;
    if (!pending.keepAlive) this.drop();
    const body = pending.parts.length === 1 ? (pending.parts[0] as Buffer).toString('utf8') : Buffer.concat(pending.parts).toString('utf8');
    pending.resolve({ status: pending.status, headers: Object.fromEntries(pending.headers), body, receivedUs });
  }

  private fail(code: string): void {
    const pending = this.pending;
    this.pending = null;
    this.drop();
    if (!pending) return;
    if (pending.timer) clearTimeout(pending.timer);
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
