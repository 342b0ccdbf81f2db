import net from 'node:net';
import tls from 'node:tls';

/**
 * A client socket whose reads go straight to `onBytes` (`data[start, end)`, valid only during the
 * call). On plain TCP every socket of a thread reads into one shared buffer (`onread`): the callback
 * runs synchronously per read and consumes or copies the bytes before returning, so nothing is
 * allocated per read. TLS reads through its own buffers ('data' events). The WebSocket, STOMP and
 * SSE subscribers are built on this: their cost per delivered message is what issue 10 measures.
 */
export interface RawSocketOptions {
  readonly url: URL;
  readonly localAddress?: string;
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
export function connectRaw(options: RawSocketOptions, onConnect: () => void, onBytes: (data: Buffer, start: number, end: number) => void): net.Socket {
  const { url } = options;
  const secure = isSecure(url);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const common = { host, port: Number(url.port) || (secure ? 443 : 80), ...(options.localAddress ? { localAddress: options.localAddress } : {}) };
  const socket: net.Socket = secure
    ? tls.connect({ ...common, ...(net.isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] })
    : net.connect({
        ...common,
        onread: {
          buffer: readBuffer(),
          callback: (bytes: number, buffer: Uint8Array) => {
            onBytes(buffer as Buffer, 0, bytes);
            return true;
          },
        },
      });
  if (secure) socket.on('data', (chunk: Buffer) => onBytes(chunk, 0, chunk.length));
  socket.setNoDelay(true);
  socket.once(secure ? 'secureConnect' : 'connect', onConnect);
  return socket;
}

/** Parses an HTTP/1.x response head (without its final blank line); null when it is not one. */
function parseResponseHead(head: string): { status: number; headers: Map<string, string> } | null {
  const lines = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!match) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(match[1]), headers };
}

const MAX_HEAD_BYTES = 16 * 1024;

/**
 * Gathers a response head across reads. `push` returns null until the head is whole, then the
 * parsed head and the bytes after it (copied: they may be the start of the body or of the frames).
 */
export class HeadReader {
  private head: Buffer | null = null;

  push(data: Buffer, start: number, end: number): { status: number; headers: Map<string, string>; rest: Buffer } | 'bad' | null {
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

/** The same for a request target (path and query) already known, on `host`. */
export function requestHeadFor(target: string, host: string, lines: readonly string[], headers: Readonly<Record<string, string>>): string {
  let head = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const line of lines) head += `${line}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `${head}\r\n`;
}
