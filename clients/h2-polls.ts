import type { ClientHttp2Session } from 'node:http2';
import { nowUs } from '../core/clock.js';
import { type HttpProtocol, connectH2, getStream } from './h2.js';
import { type Answer, KeepAliveConnection, MAX_BODY_BYTES } from './keep-alive-http.js';

/**
 * A long-polling subscriber's connection with `--http2`: its polls, one after another, as streams
 * of one h2 session of its own; or, when the server answers the ALPN offer with HTTP/1.1, the same
 * polls on a KeepAliveConnection. The same `get` as KeepAliveConnection's, so the long-polling client
 * reads both alike: an answer is stamped when its last byte came off the session.
 */
export class PollConnection {
  private session: ClientHttp2Session | null = null;
  private opening: Promise<ClientHttp2Session | null> | null = null;
  private cancelOpening: (() => void) | null = null;
  private h1: KeepAliveConnection | null = null;
  private failPending: ((code: string) => void) | null = null;
  /** Bumped by abort: what was under way before it is not carried on. */
  private generation = 0;
  protocol: HttpProtocol | null = null;

  constructor(
    private readonly origin: URL,
    private readonly options: { readonly connectTimeoutMs: number; readonly localAddress?: string },
    private readonly onSocketOpen: () => void = () => {},
  ) {}

  get socketUp(): boolean {
    return this.session !== null || (this.h1?.socketUp ?? false);
  }

  async get(url: string, headers: Readonly<Record<string, string>>, limitMs: number): Promise<Answer> {
    if (this.h1) return this.h1.get(url, headers, limitMs);
    const generation = this.generation;
    const session = this.session ?? (await this.open());
    if (generation !== this.generation) throw failure('INTERRUPTED');
    if (session !== null) return this.poll(session, new URL(url, this.origin), headers, limitMs);
    // `open` set it when the server chose HTTP/1.1 (read again: the compiler does not see that).
    const h1 = this.fallback();
    if (!h1) throw failure('INTERRUPTED');
    return h1.get(url, headers, limitMs);
  }

  private fallback(): KeepAliveConnection | null {
    return this.h1;
  }

  /** Fails the poll in flight with `INTERRUPTED` and closes the connection. */
  abort(): void {
    this.generation++;
    this.failPending?.('INTERRUPTED');
    this.cancelOpening?.();
    this.cancelOpening = null;
    this.opening = null;
    this.session?.destroy();
    this.session = null;
    this.h1?.abort();
  }

  private open(): Promise<ClientHttp2Session | null> {
    if (this.opening) return this.opening;
    const connecting = connectH2(this.origin, this.options);
    this.cancelOpening = connecting.cancel;
    this.opening = connecting.session.then(
      (session) => {
        this.opening = null;
        this.cancelOpening = null;
        if (session === null) {
          this.protocol = 'http/1.1';
          this.h1 = new KeepAliveConnection(this.origin, this.options, this.onSocketOpen);
          return null;
        }
        this.protocol = 'h2';
        this.session = session;
        const forget = (): void => {
          if (this.session === session) this.session = null;
          this.failPending?.('LP_DISCONNECTED');
        };
        session.on('close', forget);
        session.on('error', forget);
        this.onSocketOpen();
        return session;
      },
      (error: unknown) => {
        this.opening = null;
        this.cancelOpening = null;
        throw error;
      },
    );
    return this.opening;
  }

  private poll(session: ClientHttp2Session, url: URL, headers: Readonly<Record<string, string>>, limitMs: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      let status = 0;
      let answerHeaders: Record<string, string> = {};
      const parts: Buffer[] = [];
      let keptBytes = 0;
      let lastUs = 0;
      let settled = false;
      const settle = (code: string | null): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.failPending = null;
        if (code !== null) {
          stream.close();
          return reject(failure(code));
        }
        resolve({ status, headers: answerHeaders, body: Buffer.concat(parts).toString('utf8'), receivedUs: lastUs });
      };
      this.failPending = settle;
      const timer = limitMs > 0 ? setTimeout(() => settle('LP_TIMEOUT'), limitMs) : null;
      const stream = getStream(session, url, headers, {
        response: (received) => {
          status = Number(received[':status']);
          answerHeaders = {};
          for (const name in received) {
            const value = received[name];
            if (!name.startsWith(':') && value !== undefined) answerHeaders[name] = Array.isArray(value) ? value.join(', ') : String(value);
          }
        },
        body: (data, start, end, receivedUs) => {
          lastUs = receivedUs;
          keptBytes += end - start;
          if (keptBytes > MAX_BODY_BYTES) return settle('LP_BODY_TOO_LARGE');
          parts.push(Buffer.from(data.subarray(start, end)));
        },
        end: (code) => {
          // An answer without a body is stamped when its stream ended.
          if (lastUs === 0) lastUs = nowUs();
          settle(code === null ? (status === 0 ? 'LP_BAD_RESPONSE' : null) : code === 'H2_RESET_8' ? 'LP_DISCONNECTED' : code);
        },
      });
    });
  }
}

const failure = (code: string): Error => Object.assign(new Error(code), { code });
