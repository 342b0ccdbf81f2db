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

export class FrameError extends Error {}

export class FrameParser {
  private buffer = '';

  /** Feeds received text; returns the whole frames it completes (heart-beat EOLs yield nothing). */
  push(text: string): StompFrame[] {
    this.buffer += text;
    const frames: StompFrame[] = [];
    for (;;) {
      // EOLs between frames are heart-beats.
      const start = this.buffer.search(/[^\r\n]/);
      if (start < 0) {
        this.buffer = '';
        return frames;
      }
      this.buffer = this.buffer.slice(start);
      const headEnd = this.buffer.indexOf('\n\n');
      const headEndCrLf = this.buffer.indexOf('\r\n\r\n');
      const split = headEndCrLf >= 0 && (headEnd < 0 || headEndCrLf < headEnd) ? { at: headEndCrLf, length: 4 } : headEnd >= 0 ? { at: headEnd, length: 2 } : null;
      if (!split) return frames;
      const lines = this.buffer.slice(0, split.at).split(/\r?\n/);
      const command = lines[0] ?? '';
      const escaped = command !== 'CONNECT' && command !== 'CONNECTED' && command !== 'STOMP';
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) throw new FrameError(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
        const name = escaped ? unescapeHeader(line.slice(0, colon)) : line.slice(0, colon);
        // The first occurrence of a repeated header wins (STOMP 1.2).
        if (!(name in headers)) headers[name] = escaped ? unescapeHeader(line.slice(colon + 1)) : line.slice(colon + 1);
      }
      const bodyStart = split.at + split.length;
      const length = headers['content-length'];
      let bodyEnd: number;
      if (length !== undefined) {
        if (!/^\d+$/.test(length)) throw new FrameError(`bad content-length ${JSON.stringify(length)}`);
        // content-length counts bytes; the buffer holds characters.
        const bytes = Number(length);
        // (A shorter buffer may still hold the whole frame when the body is not ASCII: the slow path decides.)
        if (this.buffer.length > bodyStart + bytes && Buffer.byteLength(this.buffer.slice(bodyStart, bodyStart + bytes)) === bytes) {
          // As many bytes as characters: ASCII, so the body ends `bytes` characters on.
          bodyEnd = bodyStart + bytes;
        } else {
          const body = Buffer.from(this.buffer.slice(bodyStart), 'utf8');
          if (body.length < bytes + 1) return frames;
          bodyEnd = bodyStart + body.subarray(0, bytes).toString('utf8').length;
        }
        if (this.buffer[bodyEnd] !== '\0') throw new FrameError('frame body longer than its content-length');
      } else {
        bodyEnd = this.buffer.indexOf('\0', bodyStart);
        if (bodyEnd < 0) return frames;
      }
      frames.push({ command, headers, body: this.buffer.slice(bodyStart, bodyEnd) });
      this.buffer = this.buffer.slice(bodyEnd + 1);
    }
  }
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
