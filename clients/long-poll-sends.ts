import { KeepAliveConnection } from './keep-alive-http.js';
import type { LongPollSpec } from './types.js';

/**
 * What a long-polling profile sends on its session (a connect packet, an application pong): POSTed on
 * a connection of the subscriber's own beside its held poll, as a browser does, one request at a
 * time. Texts sent while a POST is in flight wait and go together in the next one, so a burst of
 * sends never overlaps (engine.io closes a session on overlapping POSTs) and never queues without
 * bound. A session that ends drops what still waits: it was meant for that session.
 */
export class LongPollSends {
  private connection: KeepAliveConnection | null = null;
  private waiting: string[] = [];
  private flushing = false;
  /** Bumped by `reset`: a flush of an earlier session stops at its next step. */
  private session = 0;

  constructor(
    private readonly origin: URL,
    private readonly options: { readonly connectTimeoutMs: number; readonly localAddress?: string },
    private readonly requestOf: NonNullable<LongPollSpec['sendRequest']>,
    /** Called with the number of texts a POST carried once it was answered 2xx. */
    private readonly onSent: (texts: number) => void,
    private readonly onError: (code: string) => void,
  ) {}

  send(text: string): void {
    this.waiting.push(text);
    if (!this.flushing) void this.flush();
  }

  /** Drops what waits and the connection: the session they belonged to has ended. */
  reset(): void {
    this.session++;
    this.waiting = [];
    this.flushing = false;
    this.connection?.abort();
    this.connection = null;
  }

  private async flush(): Promise<void> {
    const session = this.session;
    this.flushing = true;
    while (this.waiting.length > 0 && session === this.session) {
      const texts = this.waiting;
      this.waiting = [];
      this.connection ??= new KeepAliveConnection(this.origin, { ...this.options, codePrefix: 'LP_SEND' });
      try {
        const { url, headers, body } = this.requestOf(texts);
        const answer = await this.connection.request('POST', url, headers, body, this.options.connectTimeoutMs, false);
        if (session !== this.session) return;
        if (answer.status >= 200 && answer.status < 300) this.onSent(texts.length);
        else this.onError(`LP_SEND_HTTP_${answer.status}`);
      } catch (error) {
        if (session !== this.session) return;
        const code = String((error as { code?: unknown }).code ?? 'FAILED');
        this.onError(code.startsWith('LP_SEND') ? code : `LP_SEND_${code}`);
      }
    }
    if (session === this.session) this.flushing = false;
  }
}
