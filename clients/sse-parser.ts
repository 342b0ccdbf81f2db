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

export class SseParser {
  private pending = '';
  private skipLf = false;
  private type = '';
  private data = '';
  private hasData = false;
  lastEventId = '';

  constructor(private readonly dispatch: (event: SseEvent) => void) {}

  feed(text: string): void {
    let at = 0;
    if (this.skipLf && text.charCodeAt(0) === 10) at = 1;
    this.skipLf = false;
    while (at < text.length) {
      let end = at;
      while (end < text.length) {
        const code = text.charCodeAt(end);
        if (code === 10 || code === 13) break;
        end++;
      }
      if (end === text.length) {
        this.pending += text.slice(at);
        return;
      }
      const line = this.pending.length > 0 ? this.pending + text.slice(at, end) : text.slice(at, end);
      this.pending = '';
      if (text.charCodeAt(end) === 13) {
        if (end + 1 === text.length) this.skipLf = true;
        else if (text.charCodeAt(end + 1) === 10) end++;
      }
      at = end + 1;
      this.line(line);
    }
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
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (field === 'event') this.type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastEventId = value;
    }
  }
}
