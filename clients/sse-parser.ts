/**
 * The event-stream format as the WHATWG HTML standard's "event stream interpretation" reads it:
 * lines end in CR, LF or CRLF (a CR at the end of one read may be followed by the LF of the next);
 * `data` lines are joined with LF; `event` sets the type (default `message`); `id` sets the last
 * event id (kept for later events; ignored when it contains NUL); `retry` and comments are ignored
 * here, since rtbench's own loop decides when to reconnect; a blank line dispatches, unless no data
 * arrived. The text is already decoded (the caller strips a leading BOM).
 */
export interface SseEvent {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** A line or an event past these many characters breaks the stream: a server cannot make a client hold without bound. */
export const MAX_LINE_CHARS = 1024 * 1024;
export const MAX_EVENT_CHARS = 4 * 1024 * 1024;

export class SseParser {
  /** Why the stream cannot be read any further (`SSE_LINE_TOO_LONG`, `SSE_EVENT_TOO_LARGE`), or null. */
  broken: string | null = null;
  private pending = '';
  private skipLf = false;
  private type = '';
  private data = '';
  private hasData = false;
  lastEventId = '';

  constructor(private readonly dispatch: (event: SseEvent) => void) {}

  /**
   * Lines are found with indexOf, not a loop over every character: a subscriber reads thousands of
   * events a second, and each event's data line is most of its bytes. CR is rare (most
   * servers end lines with LF), so it is searched for once and again only once passed.
   */
  feed(text: string): void {
    if (this.broken !== null) return;
    let at = 0;
    if (this.skipLf && text.charCodeAt(0) === 10) at = 1;
    this.skipLf = false;
    let cr = text.indexOf('\r', at);
    while (at < text.length) {
      if (cr !== -1 && cr < at) cr = text.indexOf('\r', at);
      const lf = text.indexOf('\n', at);
      let end = lf === -1 || (cr !== -1 && cr < lf) ? cr : lf;
      if (end === -1) {
        this.pending += text.slice(at);
        if (this.pending.length > MAX_LINE_CHARS) this.fail('SSE_LINE_TOO_LONG');
        return;
      }
      const line = this.pending.length > 0 ? this.pending + text.slice(at, end) : text.slice(at, end);
      this.pending = '';
      if (end === cr) {
        if (end + 1 === text.length) this.skipLf = true;
        else if (text.charCodeAt(end + 1) === 10) end++;
      }
      at = end + 1;
      if (line.length > MAX_LINE_CHARS) return this.fail('SSE_LINE_TOO_LONG');
      this.line(line);
      if (this.data.length > MAX_EVENT_CHARS) return this.fail('SSE_EVENT_TOO_LARGE');
    }
  }

  private fail(code: string): void {
    this.broken = code;
    this.pending = '';
    this.data = '';
  }

  private line(line: string): void {
    if (line === '') {
      if (this.hasData) this.dispatch({ type: this.type || 'message', data: this.data, lastEventId: this.lastEventId });
      this.type = '';
      this.data = '';
      this.hasData = false;
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' a comment
    const colon = line.indexOf(':');
    const fieldEnd = colon < 0 ? line.length : colon;
    // Field names are compared in place (a name sliced from the line would be a new string per line);
    // retry and the fields the standard ignores fall through.
    if (fieldEnd === 4 && line.startsWith('data')) {
      const value = valueOf(line, colon);
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (fieldEnd === 5 && line.startsWith('event')) this.type = valueOf(line, colon);
    else if (fieldEnd === 2 && line.startsWith('id')) {
      const value = valueOf(line, colon);
      if (!value.includes('\0')) this.lastEventId = value;
    }
  }
}

/** A field's value: after the colon and one space if there is one; empty for a line without a colon. */
function valueOf(line: string, colon: number): string {
  if (colon < 0) return '';
  return line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
}
