import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { connectOptions } from '../core/tls-trust.js';
import { flushReads, takeRead } from './read-turns.js';

/**
 * HTTP/2 for the SSE and long-polling subscribers (`--http2`): each subscriber holds one TLS
 * connection to the target, as one browser does, offering h2 and http/1.1 (ALPN). When the server
 * picks h2 the subscriber's streams (the SSE stream, or its polls one after another) run on that
 * session; when it does not, the thread remembers the origin and every subscriber of it speaks
 * HTTP/1.1 from then on (only the first pays a second handshake). WebSocket and STOMP stay on
 * HTTP/1.1 upgrades, as browsers keep them. Reads are stamped as they come off the session
 * (read-turns.ts), like every other subscriber's.
 */

export type HttpProtocol = 'h2' | 'http/1.1';

/** Origins of this thread whose server answered the ALPN offer without h2. */
const withoutH2 = new Set<string>();

/** Whether connections to `url` should offer h2: `--http2` asked for it, the URL is https, and the server was not seen to refuse it. */
export function offerH2(url: URL, http2Asked: boolean): boolean {
  return http2Asked && url.protocol === 'https:' && !withoutH2.has(url.origin);
}

const failure = (code: string): Error => Object.assign(new Error(code), { code });

/**
 * Opens a TLS connection offering h2; resolves with an h2 session, or with null when the server
 * chose HTTP/1.1 (the origin is remembered, the socket closed). Rejects with the socket's code or
 * `H2_CONNECT_TIMEOUT`.
 */
export function connectH2(url: URL, options: { readonly connectTimeoutMs: number; readonly localAddress?: string }): { readonly session: Promise<ClientHttp2Session | null>; cancel(): void } {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const socket = tls.connect({
    host,
    port: Number(url.port) || 443,
    ...connectOptions(),
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  socket.setNoDelay(true);
  let timer: NodeJS.Timeout | null = null;
  const session = new Promise<ClientHttp2Session | null>((resolve, reject) => {
    timer = setTimeout(() => {
      socket.destroy();
      reject(failure('H2_CONNECT_TIMEOUT'));
    }, options.connectTimeoutMs);
    socket.once('error', (error: Error & { code?: string }) => reject(failure(error.code ?? 'H2_ERROR')));
    socket.once('close', () => reject(failure('H2_DISCONNECTED')));
    socket.once('secureConnect', () => {
      if (timer) clearTimeout(timer);
      if (socket.alpnProtocol !== 'h2') {
        withoutH2.add(url.origin);
        socket.destroy();
        return resolve(null);
      }
      resolve(http2.connect(url.origin, { createConnection: () => socket }));
    });
  });
  session.catch(() => {});
  return {
    session,
    cancel: () => {
      if (timer) clearTimeout(timer);
      socket.destroy();
    },
  };
}

/** Called with each piece of a stream's body and the time it came off the session. */
export type StreamSink = (data: Buffer, start: number, end: number, receivedUs: number) => void;

/**
 * Opens a GET stream on `session` for `url`'s path, handing its body to `onBody` through this
 * thread's read turns. `onEnd` is called once, after every byte read before it was handed on.
 */
export function getStream(
  session: ClientHttp2Session,
  url: URL,
  headers: Readonly<Record<string, string>>,
  on: { readonly response: (headers: IncomingHttpHeaders) => void; readonly body: StreamSink; readonly end: (code: string | null) => void },
): ClientHttp2Stream {
  const stream = session.request({ ':method': 'GET', ':path': `${url.pathname || '/'}${url.search}`, ...lowerCased(headers) });
  let ended = false;
  const end = (code: string | null): void => {
    if (ended) return;
    ended = true;
    flushReads();
    on.end(code);
  };
  stream.on('response', on.response);
  stream.on('data', (chunk: Buffer) => takeRead(on.body, chunk, chunk.length));
  stream.on('end', () => end(null));
  stream.on('error', (error: Error & { code?: string }) => end(error.code ?? 'H2_STREAM_ERROR'));
  stream.on('close', () => end(stream.rstCode ? `H2_RESET_${stream.rstCode}` : null));
  return stream;
}

/** Headers HTTP/2 forbids: they describe an HTTP/1.1 connection, which an h2 stream is not. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** HTTP/2 header names are lower case (a profile's may not be), and carry no connection header. */
function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const name in headers) {
    const key = name.toLowerCase();
    if (!CONNECTION_HEADERS.has(key)) lower[key] = headers[name] as string;
  }
  return lower;
}
