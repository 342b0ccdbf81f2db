/**
 * The body of a streamed HTTP/1.1 response as it arrives: chunked (RFC 9112 7.1), a fixed
 * `content-length`, or delimited by the connection closing. `feed` hands every body byte range to
 * `onData` (views of the caller's buffer, valid during the call) and returns true once the body has
 * ended (the last chunk, or `content-length` bytes).
 */
export type BodyFraming = { readonly kind: 'chunked' } | { readonly kind: 'length'; readonly bytes: number } | { readonly kind: 'close' };

export function framingOf(headers: Map<string, string>): BodyFraming | 'bad' {
  const encoding = headers.get('transfer-encoding');
  if (encoding !== undefined) return encoding.toLowerCase().split(/\s*,\s*/).at(-1) === 'chunked' ? { kind: 'chunked' } : 'bad';
  const length = headers.get('content-length');
  if (length === undefined) return { kind: 'close' };
  return /^\d+$/.test(length) ? { kind: 'length', bytes: Number(length) } : 'bad';
}

const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILER = 3;
const DONE = 4;
/** A chunk-size line longer than this is not HTTP. */
const MAX_LINE = 1024;
/** Hex digits of a chunk size at most (48 bits: a safe integer); the line path refuses more. */
const MAX_SIZE_DIGITS = 12;

export class BodyReader {
  private state = SIZE;
  private line = '';
  /** Bytes left in the current chunk (chunked) or in the body (content-length). */
  private left: number;
  /** Set when the chunked framing is broken: the connection must be dropped. */
  broken = false;

  constructor(
    private readonly framing: BodyFraming,
    private readonly onData: (data: Buffer, start: number, end: number) => void,
  ) {
    this.left = framing.kind === 'length' ? framing.bytes : 0;
    if (framing.kind === 'length' && framing.bytes === 0) this.state = DONE;
  }

  get done(): boolean {
    return this.state === DONE;
  }

  feed(data: Buffer, start: number, end: number): boolean {
    if (this.framing.kind === 'close') {
      if (end > start) this.onData(data, start, end);
      return false;
    }
    if (this.framing.kind === 'length') {
      const taken = Math.min(end - start, this.left);
      if (taken > 0) this.onData(data, start, start + taken);
      this.left -= taken;
      if (this.left === 0) this.state = DONE;
      return this.done;
    }
    let at = start;
    while (at < end && this.state !== DONE && !this.broken) {
      if (this.state === DATA) {
        const taken = Math.min(end - at, this.left);
        this.onData(data, at, at + taken);
        at += taken;
        this.left -= taken;
        if (this.left === 0) this.state = DATA_END;
        continue;
      }
      // A chunk's size line and the CR LF after its data, whole in this read with nothing carried
      // over: read from the bytes, with no string or regular expression per chunk (a subscriber
      // reads thousands of chunks a second). Anything else takes the line path below.
      if (this.line === '' && this.state !== TRAILER) {
        const next = this.state === SIZE ? this.sizeLine(data, at, end) : eolAt(data, at, end);
        if (next >= 0) {
          at = next;
          this.state = this.state === DATA_END ? SIZE : this.left === 0 ? TRAILER : DATA;
          continue;
        }
      }
      // SIZE, DATA_END and TRAILER read lines ending in LF (a CR before it is dropped).
      const newline = data.indexOf(10, at);
      const lineEnd = newline < 0 || newline >= end ? end : newline;
      this.line += data.toString('latin1', at, lineEnd);
      at = lineEnd;
      if (this.line.length > MAX_LINE) {
        this.broken = true;
        break;
      }
      if (lineEnd === end) break;
      at++;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      if (this.state === DATA_END) {
        if (line !== '') this.broken = true;
        else this.state = SIZE;
      } else if (this.state === SIZE) {
        const size = /^([0-9a-fA-F]{1,12})\s*(;.*)?$/.exec(line);
        if (!size) {
          this.broken = true;
          break;
        }
        this.left = parseInt(size[1]!, 16);
        this.state = this.left === 0 ? TRAILER : DATA;
      } else if (line === '') {
        this.state = DONE;
      }
    }
    return this.done;
  }

  /** A size line of hex digits only, then LF or CR LF, at `at`: sets `left` and returns where the next line starts; -1 for anything else. */
  private sizeLine(data: Buffer, at: number, end: number): number {
    let size = 0;
    let digits = 0;
    for (; at < end && digits < MAX_SIZE_DIGITS; at++, digits++) {
      const c = data[at]!;
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    const next = digits === 0 ? -1 : eolAt(data, at, end);
    if (next >= 0) this.left = size;
    return next;
  }
}

/** Where the line after an LF or CR LF at `at` starts; -1 when the bytes there are not one (or not all in this read). */
function eolAt(data: Buffer, at: number, end: number): number {
  if (at < end && data[at] === 10) return at + 1;
  return at + 1 < end && data[at] === 13 && data[at + 1] === 10 ? at + 2 : -1;
}
