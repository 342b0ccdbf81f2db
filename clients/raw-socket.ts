import net from 'node:net';
import tls from 'node:tls';
import { nowUs } from '../core/clock.js';
import { connectOptions } from '../core/tls-trust.js';
import { type ReadSink, flushReads, takeRead } from './read-turns.js';

/**
 * A client socket whose reads are stamped as they come off it and handed to `onBytes` after the
 * reads of their event-loop turn (read-turns.ts): `data[start, end)` is valid only during the call.
 * On plain TCP every socket of a thread reads into one shared buffer (`onread`), so nothing is
 * allocated per read; TLS reads through its own buffers ('data' events). The WebSocket, STOMP, SSE
 * and long-polling subscribers are built on this.
 */
export interface RawSocketOptions {
  readonly url: URL;
  readonly localAddress?: string;
  /**
   * Hand each read on at once, stamped, instead of after the turn's reads: for a connection that
   * stamps no arrival whose lateness matters to others (the publisher's, whose answers only time
   * its own round trip), where the deferral's cost per turn is not worth paying.
   */
  readonly immediate?: boolean;
}

let sharedReadBuffer: Buffer | null = null;
function readBuffer(): Buffer {
  sharedReadBuffer ??= Buffer.allocUnsafe(64 * 1024);
  return sharedReadBuffer;
}

function isSecure(url: URL): boolean {
  return url.protocol === 'wss:' || url.protocol === 'https:';
}

/** Connects; `onConnect` fires once the socket (and TLS, if any) is ready for the request. */
export function connectRaw(options: RawSocketOptions, onConnect: () => void, onBytes: ReadSink): net.Socket {
  const { url } = options;
  const take = options.immediate ? (sink: ReadSink, data: Uint8Array, bytes: number) => sink(data as Buffer, 0, bytes, nowUs()) : takeRead;
  const secure = isSecure(url);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const common = { host, port: Number(url.port) || (secure ? 443 : 80), ...(options.localAddress ? { localAddress: options.localAddress } : {}) };
  const socket: net.Socket = secure
    ? tls.connect({ ...common, ...connectOptions(), ...(net.isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] })
    : net.connect({
        ...common,
        onread: {
          buffer: readBuffer(),
          callback: (bytes: number, buffer: Uint8Array) => {
            take(onBytes, buffer, bytes);
            return true;
          },
        },
      });
  if (secure) socket.on('data', (chunk: Buffer) => take(onBytes, chunk, chunk.length));
  // What was read before the socket closed or failed is handled before the clients hear of it.
  socket.prependListener('close', flushReads);
  socket.prependListener('error', flushReads);
  socket.setNoDelay(true);
  socket.once(secure ? 'secureConnect' : 'connect', onConnect);
  return socket;
}

/** Parses an HTTP/1.x response head (without its final blank line); null when it is not one. */
function parseResponseHead(head: string): { status: number; headers: Map<string, string> } | null {
  // `HTTP/1.x NNN`, walked by index: every publish answer and long poll is parsed here.
  if (!head.startsWith('HTTP/1.') || (head[7] !== '0' && head[7] !== '1') || head[8] !== ' ') return null;
  const status = Number(head.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || (head.length > 12 && head[12] !== ' ' && head[12] !== '\r')) return null;
  const headers = new Map<string, string>();
  for (let at = head.indexOf('\r\n'); at >= 0; ) {
    const next = head.indexOf('\r\n', at + 2);
    const line = head.slice(at + 2, next < 0 ? head.length : next);
    at = next;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { status, headers };
}

const MAX_HEAD_BYTES = 16 * 1024;

/**
 * Gathers a response head across reads. `push` returns null until the head is whole, then the
 * parsed head and the bytes after it (copied: they may be the start of the body or of the frames).
 */
export class HeadReader {
  private head: Buffer | null = null;

  push(data: Buffer, start: number, end: number): { status: number; headers: Map<string, string>; rest: Buffer } | 'bad' | null {
    if (this.head === null) {
      // The usual case, a whole head in one read: parsed where it lies, only what follows it copied.
      const headEnd = data.indexOf('\r\n\r\n', start);
      if (headEnd >= 0 && headEnd + 4 <= end) {
        const parsed = parseResponseHead(data.toString('latin1', start, headEnd));
        return parsed ? { ...parsed, rest: Buffer.from(data.subarray(headEnd + 4, end)) } : 'bad';
      }
    }
    this.head = this.head === null ? Buffer.from(data.subarray(start, end)) : Buffer.concat([this.head, data.subarray(start, end)]);
    const headEnd = this.head.indexOf('\r\n\r\n');
    if (headEnd < 0) return this.head.length > MAX_HEAD_BYTES ? 'bad' : null;
    const parsed = parseResponseHead(this.head.toString('latin1', 0, headEnd));
    const rest = this.head.subarray(headEnd + 4);
    this.head = null;
    return parsed ? { ...parsed, rest } : 'bad';
  }
}

/** Request head lines for a GET of `url`, then `headers` as given. */
export function requestHead(url: URL, lines: readonly string[], headers: Readonly<Record<string, string>>): string {
  return requestHeadFor(`${url.pathname || '/'}${url.search}`, url.host, lines, headers);
}

/** The same for a request target (path and query) already known, on `host`, with `method`. */
export function requestHeadFor(target: string, host: string, lines: readonly string[], headers: Readonly<Record<string, string>>, method = 'GET'): string {
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const line of lines) head += `${line}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `${head}\r\n`;
}
