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

  /**
   * Feeds received text; returns the whole frames it completes (heart-beat EOLs yield nothing). A
   * subscriber runs this for every delivery, so it walks the text by offsets instead of slicing it
   * per step and splitting the head with a regular expression (issue 10); what it accepts and
   * rejects is unchanged (test/stomp.test.ts).
   */
  push(text: string): StompFrame[] {
    const buffer = this.buffer.length === 0 ? text : this.buffer + text;
    const frames: StompFrame[] = [];
    let at = 0;
    for (;;) {
      // EOLs between frames are heart-beats.
      while (at < buffer.length && (buffer.charCodeAt(at) === LF || buffer.charCodeAt(at) === CR)) at++;
      this.buffer = buffer.slice(at); // what is left if this frame is incomplete or bad
      if (at >= buffer.length) return frames;
      const headEnd = buffer.indexOf('\n\n', at);
      const headEndCrLf = buffer.indexOf('\r\n\r\n', at);
      const split = headEndCrLf >= 0 && (headEnd < 0 || headEndCrLf < headEnd) ? { at: headEndCrLf, length: 4 } : headEnd >= 0 ? { at: headEnd, length: 2 } : null;
      if (!split) return frames;
      // The head's lines, split on LF with a CR before it dropped (as `split(/\r?\n/)` would).
      let lineEnd = buffer.indexOf('\n', at);
      if (lineEnd < 0 || lineEnd > split.at) lineEnd = split.at;
      const command = lineText(buffer, at, lineEnd, split.at);
      const escaped = command !== 'CONNECT' && command !== 'CONNECTED' && command !== 'STOMP';
      const headers: Record<string, string> = {};
      while (lineEnd < split.at) {
        const lineStart = lineEnd + 1;
        lineEnd = buffer.indexOf('\n', lineStart);
        if (lineEnd < 0 || lineEnd > split.at) lineEnd = split.at;
        const line = lineText(buffer, lineStart, lineEnd, split.at);
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
        if (buffer.length > bodyStart + bytes && isAscii(buffer, bodyStart, bodyStart + bytes)) {
          // As many bytes as characters: ASCII, so the body ends `bytes` characters on.
          bodyEnd = bodyStart + bytes;
        } else {
          const body = Buffer.from(buffer.slice(bodyStart), 'utf8');
          if (body.length < bytes + 1) return frames;
          bodyEnd = bodyStart + body.subarray(0, bytes).toString('utf8').length;
        }
        if (buffer[bodyEnd] !== '\0') throw new FrameError('frame body longer than its content-length');
      } else {
        bodyEnd = buffer.indexOf('\0', bodyStart);
        if (bodyEnd < 0) return frames;
      }
      frames.push({ command, headers, body: buffer.slice(bodyStart, bodyEnd) });
      at = bodyEnd + 1;
    }
  }
}

const LF = 10;
const CR = 13;

/** One line of a frame's head: a CR before its LF is dropped; the head's last line keeps one (no LF follows it). */
function lineText(buffer: string, start: number, end: number, headEnd: number): string {
  return end < headEnd && end > start && buffer.charCodeAt(end - 1) === CR ? buffer.slice(start, end - 1) : buffer.slice(start, end);
}

/** Whether every character in [start, end) is ASCII, that is, takes one byte in UTF-8. */
function isAscii(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
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
