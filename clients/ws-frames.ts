import { randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';

/**
 * RFC 6455 frames as a client reads and writes them, without a stream in between: the socket hands
 * each read (a view of one reused buffer) to `FrameReader.feed`, which decodes every complete frame
 * straight from those bytes. Only what outlives the read is copied: a partial header (at most 14
 * bytes), the payload of a frame split across reads, and the fragments of a fragmented message.
 * That is what makes a subscriber cheaper than the `ws` package's receiver (one Buffer allocated per
 * read, a Writable stream per socket, a copy per frame), while keeping what a browser enforces:
 * unmasked server frames, no reserved bits, valid control frames, valid UTF-8 in text, close codes.
 */

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** What a reader reports; `fail` ends the connection with `closeCode` sent to the server. */
export interface FrameSink {
  text(text: string): void;
  /** A binary message; `payload` may be a view of the socket's reused buffer: copy what you keep. */
  binary(payload: Buffer): void;
  ping(payload: Buffer): void;
  /** A close frame: its status code (1005 when it carried none) and reason. */
  close(code: number, reason: string): void;
  fail(closeCode: number, code: string): void;
}

/** Largest message accepted (a chat message is far smaller); larger ones fail with 1009 before their payload is kept. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Close codes a peer may send (RFC 6455 7.4.1, 7.4.2): 1000-1003, 1007-1014, 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export class FrameReader {
  /** Header bytes of a frame whose header was split across reads. */
  private readonly header = Buffer.alloc(14);
  private headerFill = 0;
  /** The frame whose payload is being filled across reads (null between frames). */
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private fin = false;
  private opcode = 0;
  /** Fragments of a message in progress (opcode of its first frame, 0 when none). */
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;
  private failed = false;

  constructor(private readonly sink: FrameSink) {}

  /** Decodes `data[start, end)`; the bytes may be overwritten after this returns. */
  feed(data: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end && !this.failed) {
      if (this.payload !== null) {
        const taken = Math.min(end - at, this.payload.length - this.payloadFill);
        data.copy(this.payload, this.payloadFill, at, at + taken);
        this.payloadFill += taken;
        at += taken;
        if (this.payloadFill === this.payload.length) {
          const payload = this.payload;
          this.payload = null;
          this.frame(payload, 0, payload.length);
        }
        continue;
      }
      // The header: read in place when it is whole in this read, else gathered byte by byte.
      let source = data;
      let headerAt = at;
      const available = end - at;
      if (this.headerFill > 0 || available < 2 || available < headerLength(data, at)) {
        while (at < end && (this.headerFill < 2 || this.headerFill < headerLength(this.header, 0))) this.header[this.headerFill++] = data[at++]!;
        if (this.headerFill < 2 || this.headerFill < headerLength(this.header, 0)) return;
        source = this.header;
        headerAt = 0;
        this.headerFill = 0;
      } else {
        at += headerLength(data, at);
      }
      const first = source[headerAt]!;
      const second = source[headerAt + 1]!;
      if ((first & 0x70) !== 0) return this.fail(1002, 'WS_ERR_UNEXPECTED_RSV');
      if ((second & 0x80) !== 0) return this.fail(1002, 'WS_ERR_UNEXPECTED_MASK');
      this.fin = (first & 0x80) !== 0;
      this.opcode = first & 0x0f;
      let length = second & 0x7f;
      if (length === 126) length = source.readUInt16BE(headerAt + 2);
      else if (length === 127) {
        const high = source.readUInt32BE(headerAt + 2);
        if (high > 0x1fffff) return this.fail(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
        length = high * 2 ** 32 + source.readUInt32BE(headerAt + 6);
      }
      if (this.opcode >= OPCODE.close && (!this.fin || length > 125)) return this.fail(1002, 'WS_ERR_INVALID_CONTROL_FRAME');
      if (this.fragmentBytes + length > MAX_MESSAGE_BYTES) return this.fail(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      if (end - at >= length) {
        // The common case: the whole payload is in this read; decode it without a copy.
        at += length;
        this.frame(data, at - length, at);
      } else {
        this.payload = Buffer.allocUnsafe(length);
        this.payloadFill = 0;
      }
    }
  }

  private fail(closeCode: number, code: string): void {
    this.failed = true;
    this.payload = null;
    this.fragments = [];
    this.sink.fail(closeCode, code);
  }

  /** One complete frame whose payload is `data[start, end)`. */
  private frame(data: Buffer, start: number, end: number): void {
    const opcode = this.opcode;
    if (opcode === OPCODE.text || opcode === OPCODE.binary) {
      if (this.fragmentOpcode !== 0) return this.fail(1002, 'WS_ERR_EXPECTED_CONTINUATION');
      if (this.fin) return this.message(opcode, data, start, end);
      this.fragmentOpcode = opcode;
      this.keepFragment(data, start, end);
      return;
    }
    if (opcode === OPCODE.continuation) {
      if (this.fragmentOpcode === 0) return this.fail(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
      this.keepFragment(data, start, end);
      if (!this.fin) return;
      const whole = Buffer.concat(this.fragments, this.fragmentBytes);
      const messageOpcode = this.fragmentOpcode;
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentOpcode = 0;
      return this.message(messageOpcode, whole, 0, whole.length);
    }
    if (opcode === OPCODE.close) {
      if (end - start === 1) return this.fail(1002, 'WS_ERR_INVALID_CLOSE_FRAME');
      if (end - start === 0) return this.sink.close(1005, '');
      const code = data.readUInt16BE(start);
      if (!isValidCloseCode(code)) return this.fail(1002, 'WS_ERR_INVALID_CLOSE_CODE');
      const reason = data.subarray(start + 2, end);
      if (!isUtf8(reason)) return this.fail(1007, 'WS_ERR_INVALID_UTF8');
      return this.sink.close(code, reason.toString('utf8'));
    }
    if (opcode === OPCODE.ping) return this.sink.ping(Buffer.from(data.subarray(start, end)));
    if (opcode === OPCODE.pong) return;
    return this.fail(1002, 'WS_ERR_INVALID_OPCODE');
  }

  private keepFragment(data: Buffer, start: number, end: number): void {
    // Copied: `data` may be the socket's reused read buffer.
    this.fragments.push(Buffer.from(data.subarray(start, end)));
    this.fragmentBytes += end - start;
  }

  private message(opcode: number, data: Buffer, start: number, end: number): void {
    if (opcode === OPCODE.binary) return this.sink.binary(data.subarray(start, end));
    // Decoding replaces every invalid sequence with U+FFFD, so a text without one was valid UTF-8
    // and needs no separate check (nor a view of the bytes): one native call per message, not three.
    const text = data.toString('utf8', start, end);
    if (text.includes('\uFFFD') && !isUtf8(data.subarray(start, end))) return this.fail(1007, 'WS_ERR_INVALID_UTF8');
    this.sink.text(text);
  }
}

/** Bytes of the header that starts at `data[at]` (needs its first two bytes). */
function headerLength(data: Buffer, at: number): number {
  const length = data[at + 1]! & 0x7f;
  const masked = (data[at + 1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + masked;
}

/** A client frame (always masked, RFC 6455 5.3) with the whole message in one frame. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  else if (extended === 8) {
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length % 2 ** 32, 6);
  }
  const maskAt = 2 + extended;
  randomFillSync(frame, maskAt, 4);
  for (let i = 0; i < length; i++) frame[maskAt + 4 + i] = payload[i]! ^ frame[maskAt + (i & 3)]!;
  return frame;
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}
