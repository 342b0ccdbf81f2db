import { createHash, randomBytes } from 'node:crypto';
import { HeadReader, connectRaw, requestHead } from './raw-socket.js';
import { FrameReader, OPCODE, clientFrame, closePayload } from './ws-frames.js';

/**
 * One client WebSocket (RFC 6455) on a bare socket: the opening handshake written by hand, frames
 * decoded by FrameReader from the socket's reads (raw-socket.ts: on plain `ws://` one read buffer per
 * thread, so a subscriber allocates nothing per message it receives). Used by the WebSocket and
 * STOMP subscribers; tests in test/ws-connection.test.ts hold it to what a browser enforces.
 */

export interface WebSocketOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly protocols?: readonly string[];
  readonly handshakeTimeoutMs: number;
  readonly localAddress?: string;
}

export interface WebSocketEvents {
  /** The handshake succeeded; `protocol` is the subprotocol the server chose ('' for none). */
  open(protocol: string): void;
  /** A text message; `receivedUs` is when the read that completed it came off the socket. */
  text(text: string, receivedUs: number): void;
  /** A binary message (`payload` is valid only during the call). */
  binary?(payload: Buffer, receivedUs: number): void;
  /**
   * The connection is over, once: `code` says why (`WS_CLOSED` for a normal close, `WS_CLOSE_<n>`
   * for any other close code, 1006 when the socket ended without one, `HTTP_<status>` for a refused
   * handshake, the socket error's code, or a protocol error's `WS_ERR_*`).
   */
  closed(code: string, closeCode: number): void;
}

export interface WebSocketConnection {
  /** Sends a text frame; false when the connection is not open (not yet, or no longer). */
  send(text: string): boolean;
  /** Starts a normal close (the server answers with its close frame, then the socket ends). */
  close(code?: number): void;
  /** Drops the socket at once, as a network failure would. */
  terminate(): void;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** How long a closing connection waits for the server to end the socket before dropping it. */
const CLOSE_WAIT_MS = 2000;

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** The opening handshake request (RFC 6455 4.1). */
function handshakeRequest(url: URL, key: string, options: WebSocketOptions): string {
  const lines = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
  if (options.protocols && options.protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(', ')}`);
  return requestHead(url, lines, options.headers ?? {});
}

/** Why a 101 answer is not a valid upgrade for this request (null when it is), and the chosen protocol. */
export function checkUpgrade(headers: Map<string, string>, key: string, protocols: readonly string[]): { error: string | null; protocol: string } {
  const protocol = headers.get('sec-websocket-protocol') ?? '';
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return { error: 'WS_BAD_HANDSHAKE', protocol };
  if (!(headers.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return { error: 'WS_BAD_HANDSHAKE', protocol };
  if (headers.get('sec-websocket-accept') !== acceptKey(key)) return { error: 'WS_BAD_ACCEPT', protocol };
  // We offer no extension, so the server may not use one (its frames would have RSV bits set).
  if (headers.has('sec-websocket-extensions')) return { error: 'WS_BAD_EXTENSION', protocol };
  if (protocols.length > 0 ? !protocols.includes(protocol) : protocol !== '') return { error: 'WS_BAD_PROTOCOL', protocol };
  return { error: null, protocol };
}

export function openWebSocket(options: WebSocketOptions, events: WebSocketEvents): WebSocketConnection {
  const url = new URL(options.url);
  const key = randomBytes(16).toString('base64');

  let handshaking = true;
  const head = new HeadReader();
  let finished = false;
  let closing = false;
  let closeTimer: NodeJS.Timeout | null = null;
  let handshakeTimer: NodeJS.Timeout | null = null;

  const finish = (code: string, closeCode: number): void => {
    if (finished) return;
    finished = true;
    if (handshakeTimer) clearTimeout(handshakeTimer);
    events.closed(code, closeCode);
  };
  const sendFrame = (opcode: number, payload: Buffer): boolean => {
    if (socket.destroyed || !socket.writable) return false;
    socket.write(clientFrame(opcode, payload));
    return true;
  };
  /** Sends our close frame (once) and ends the socket, dropping it if the server does not. */
  const startClose = (closeCode: number): void => {
    if (closing) return;
    closing = true;
    sendFrame(OPCODE.close, closePayload(closeCode));
    socket.end();
    closeTimer = setTimeout(() => socket.destroy(), CLOSE_WAIT_MS);
    closeTimer.unref();
  };

  const reader = new FrameReader({
    text: (text) => events.text(text, receivedUs),
    binary: (payload) => events.binary?.(payload, receivedUs),
    ping: (payload) => sendFrame(OPCODE.pong, payload),
    close: (code) => {
      startClose(code === 1005 ? 1000 : code);
      finish(code === 1000 ? 'WS_CLOSED' : `WS_CLOSE_${code}`, code);
    },
    fail: (closeCode, code) => {
      startClose(closeCode);
      finish(code, closeCode);
    },
  });

  /** Bytes read before the upgrade completed: the response head, then possibly the first frames. */
  const readHandshake = (data: Buffer, start: number, end: number): void => {
    const response = head.push(data, start, end);
    if (response === null) return;
    if (response === 'bad') return fail('WS_BAD_HANDSHAKE');
    if (response.status !== 101) return fail(`HTTP_${response.status}`);
    const { error, protocol } = checkUpgrade(response.headers, key, options.protocols ?? []);
    if (error) return fail(error);
    handshaking = false;
    if (handshakeTimer) clearTimeout(handshakeTimer);
    events.open(protocol);
    if (response.rest.length > 0 && !finished) reader.feed(response.rest, 0, response.rest.length);
  };
  const fail = (code: string): void => {
    finish(code, 1006);
    socket.destroy();
  };

  let receivedUs = 0;
  const onBytes = (data: Buffer, start: number, end: number, stampUs: number): void => {
    receivedUs = stampUs;
    if (finished) return;
    if (handshaking) readHandshake(data, start, end);
    else reader.feed(data, start, end);
  };

  const socket = connectRaw({ url, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => socket.write(handshakeRequest(url, key, options)), onBytes);
  socket.on('error', (error: Error & { code?: string }) => finish(error.code ?? 'WS_ERROR', 1006));
  socket.on('close', () => {
    if (closeTimer) clearTimeout(closeTimer);
    finish(handshaking ? 'ECONNRESET' : 'WS_CLOSE_1006', 1006);
  });
  handshakeTimer = setTimeout(() => fail('WS_HANDSHAKE_TIMEOUT'), options.handshakeTimeoutMs);
  handshakeTimer.unref();

  return {
    send: (text) => !handshaking && !closing && sendFrame(OPCODE.text, Buffer.from(text)),
    close: (code = 1000) => {
      if (handshaking) return fail('WS_CLOSED');
      startClose(code);
    },
    terminate: () => {
      finish('INTERRUPTED', 1006);
      socket.destroy();
    },
  };
}
