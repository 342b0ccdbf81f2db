/**
 * STOMP 1.2 frames on the wire: `COMMAND\nheader:value\n...\n\nbody\0`, with EOLs between frames as
 * heart-beats. A WebSocket message may carry several frames, or a frame may span messages, so the
 * parser buffers text and yields whole frames.
 */
export interface StompFrame {
  readonly command: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Header values escape `\`, CR, LF and `:` (STOMP 1.2), except in CONNECT and CONNECTED frames. */
function unescapeHeader(text: string): string {
  // Most values hold no escape at all; skip the regular expression for them (a subscriber reads thousands a second).
  if (!text.includes('\\')) return text;
  return text.replace(/\\([\\rnc])/g, (_, c: string) => (c === 'r' ? '\r' : c === 'n' ? '\n' : c === 'c' ? ':' : '\\'));
}

export function escapeHeader(text: string): string {
  return text.replace(/[\\\r\n:]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : c === ':' ? '\\c' : '\\\\'));
}

export class FrameError extends Error {
  /** Whole frames read before the bad one in the same push: they arrived, and are handed on. */
  frames: readonly StompFrame[] = [];

  /** The error code a client counts (STOMP_BAD_FRAME unless said otherwise). */
  constructor(message: string, readonly code = 'STOMP_BAD_FRAME') {
    super(message);
  }
}

/** An incomplete frame held past this many characters is refused: a server cannot make a client hold without bound. */
export const MAX_FRAME_CHARS = 4 * 1024 * 1024;

/** A head with more header lines than this is refused (STOMP_TOO_MANY_HEADERS): each would become a property. */
export const MAX_HEADER_LINES = 1000;

export class FrameParser {
  /** Text of an incomplete frame, in the pieces it came in: joined only once a NUL may end it. */
  private held: string[] = [];
  private heldChars = 0;

  /**
   * Feeds received text; returns the whole frames it completes (heart-beat EOLs yield nothing). Every
   * frame ends with a NUL, so text without one cannot complete a frame and is only held: a frame that
   * arrives in many pieces is not searched again per piece. The text up to the last NUL is read; a
   * subscriber runs this for every delivery, so it walks the head line by line up to its empty line,
   * without slicing the text per step or searching it past the head; an incomplete or bad frame is
   * kept, from its first character, for the next push.
   */
  push(text: string): StompFrame[] {
    const lastNul = text.lastIndexOf('\0');
    if (lastNul < 0) {
      this.hold(text, []);
      return [];
    }
    const through = lastNul === text.length - 1 ? text : text.slice(0, lastNul + 1);
    const buffer = this.held.length === 0 ? through : this.held.join('') + through;
    this.held = [];
    this.heldChars = 0;
    const frames: StompFrame[] = [];
    let at = 0;
    for (;;) {
      // EOLs between frames are heart-beats.
      while (at < buffer.length && (buffer.charCodeAt(at) === LF || buffer.charCodeAt(at) === CR)) at++;
      let frame: { frame: StompFrame; end: number } | null;
      try {
        frame = at < buffer.length ? frameAt(buffer, at) : null;
      } catch (error) {
        this.held = [buffer.slice(at), text.slice(lastNul + 1)];
        this.heldChars = this.held[0]!.length + this.held[1]!.length;
        if (error instanceof FrameError) error.frames = frames;
        throw error;
      }
      if (frame === null) {
        if (at < buffer.length) this.hold(at === 0 ? buffer : buffer.slice(at), frames);
        if (lastNul < text.length - 1) this.hold(text.slice(lastNul + 1), frames);
        return frames;
      }
      frames.push(frame.frame);
      at = frame.end;
    }
  }

  /** Keeps text that cannot end a frame yet; EOLs before any frame are heart-beats and not kept. */
  private hold(text: string, frames: StompFrame[]): void {
    let start = 0;
    if (this.held.length === 0) while (start < text.length && (text.charCodeAt(start) === LF || text.charCodeAt(start) === CR)) start++;
    if (start === text.length) return;
    this.held.push(start === 0 ? text : text.slice(start));
    this.heldChars += text.length - start;
    if (this.heldChars > MAX_FRAME_CHARS) {
      this.held = [];
      this.heldChars = 0;
      throw Object.assign(new FrameError(`a frame longer than ${MAX_FRAME_CHARS} characters`, 'STOMP_FRAME_TOO_LARGE'), { frames });
    }
  }
}

const LF = 10;
const CR = 13;
const NUL = 0;

/** The frame that starts at `at`, and where the next one may start; null while it is incomplete. */
function frameAt(buffer: string, at: number): { frame: StompFrame; end: number } | null {
  // The head: the command line, then header lines, up to an empty line; each EOL is LF or CR LF.
  let lineEnd = buffer.indexOf('\n', at);
  if (lineEnd < 0) return null;
  const command = buffer.slice(at, eolStart(buffer, at, lineEnd));
  const escaped = command !== 'CONNECT' && command !== 'CONNECTED' && command !== 'STOMP';
  const headers: Record<string, string> = {};
  for (let lines = 0; ; lines++) {
    if (lines > MAX_HEADER_LINES) throw new FrameError(`more than ${MAX_HEADER_LINES} header lines`, 'STOMP_TOO_MANY_HEADERS');
    const lineStart = lineEnd + 1;
    lineEnd = buffer.indexOf('\n', lineStart);
    if (lineEnd < 0) return null;
    const contentEnd = eolStart(buffer, lineStart, lineEnd);
    if (contentEnd === lineStart) break;
    const colon = buffer.indexOf(':', lineStart);
    if (colon <= lineStart || colon >= contentEnd) {
      throw new FrameError(`malformed header line ${JSON.stringify(buffer.slice(lineStart, Math.min(contentEnd, lineStart + 80)))}`);
    }
    const read = buffer.slice(lineStart, colon);
    const name = KNOWN_HEADER_NAMES.get(read) ?? (escaped ? unescapeHeader(read) : read);
    // The first occurrence of a repeated header wins (STOMP 1.2).
    if (!(name in headers)) headers[name] = escaped ? unescapeHeader(buffer.slice(colon + 1, contentEnd)) : buffer.slice(colon + 1, contentEnd);
  }
  const bodyStart = lineEnd + 1;
  const length = headers['content-length'];
  let bodyEnd: number;
  if (length !== undefined) {
    const bytes = byteCount(length);
    if (bytes < 0) throw new FrameError(`bad content-length ${JSON.stringify(length)}`);
    // content-length counts bytes; the buffer holds characters.
    // (A shorter buffer may still hold the whole frame when the body is not ASCII: the slow path decides.)
    if (buffer.length > bodyStart + bytes && Buffer.byteLength(buffer.slice(bodyStart, bodyStart + bytes), 'utf8') === bytes) {
      // As many bytes as characters (all ASCII), so the body ends `bytes` characters on.
      bodyEnd = bodyStart + bytes;
    } else {
      const body = Buffer.from(buffer.slice(bodyStart), 'utf8');
      if (body.length < bytes + 1) return null;
      bodyEnd = bodyStart + body.subarray(0, bytes).toString('utf8').length;
    }
    if (buffer.charCodeAt(bodyEnd) !== NUL) throw new FrameError('frame body longer than its content-length');
  } else {
    bodyEnd = buffer.indexOf('\0', bodyStart);
    if (bodyEnd < 0) return null;
  }
  return { frame: { command, headers, body: buffer.slice(bodyStart, bodyEnd) }, end: bodyEnd + 1 };
}

/**
 * The header names STOMP 1.2 and the common brokers use, each mapped to itself. A name read from the
 * text is a new string each frame, and using a new string as a property key costs a search of V8's
 * string table (the larger part of the parser's time on a MESSAGE frame); the map hands back the
 * literal, which is that table's own string. None holds a character that needs escaping.
 */
const KNOWN_HEADER_NAMES = new Map(
  ['destination', 'message-id', 'subscription', 'content-type', 'content-length', 'ack', 'receipt', 'receipt-id', 'message', 'version', 'heart-beat', 'server', 'session', 'redelivered', 'persistent', 'priority', 'expires', 'timestamp'].map((name) => [name, name]),
);

/** Where the text of the line ending at the LF `lineEnd` ends: before a CR that precedes the LF. */
function eolStart(buffer: string, lineStart: number, lineEnd: number): number {
  return lineEnd > lineStart && buffer.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
}

/** A content-length's bytes; -1 unless it is all digits. */
function byteCount(text: string): number {
  if (text.length === 0) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(text);
}

export function serializeFrame(command: string, headers: Readonly<Record<string, string | number>>, body = ''): string {
  const escaped = command !== 'CONNECTED';
  let text = `${command}\n`;
  for (const [name, value] of Object.entries(headers)) text += `${escaped ? escapeHeader(name) : name}:${escaped ? escapeHeader(String(value)) : value}\n`;
  return `${text}\n${body}\0`;
}

/** Parses `heart-beat: cx,cy`; absent means `0,0` (no heart-beats). */
export function parseHeartbeat(header: string | undefined): [number, number] | null {
  if (header === undefined) return [0, 0];
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(header);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/**
 * The negotiated intervals (STOMP 1.2 section "Heart-beating"): each side sends every max of what
 * it offers and what the other wants, and 0 on either side turns that direction off.
 */
export function negotiateHeartbeat(server: readonly [number, number], client: readonly [number, number]): { sendMs: number; expectMs: number } {
  const [serverSends, serverWants] = server;
  const [clientSends, clientWants] = client;
  return {
    sendMs: serverSends === 0 || clientWants === 0 ? 0 : Math.max(serverSends, clientWants),
    expectMs: clientSends === 0 || serverWants === 0 ? 0 : Math.max(clientSends, serverWants),
  };
}
