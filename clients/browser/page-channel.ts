import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** A long-poll answer may carry many messages; a page's message is never larger than what it read. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What the pages of one subscriber thread say, by page number. */
export interface PageListener {
  /**
   * A question: what subscriber `id` does next, after its last poll read `answer` (null when none).
   * With `usedUrl`, a notice instead: the page built its next poll itself (that URL) and wants no
   * answer; the answer is read all the same.
   */
  next(page: number, id: number, answer: unknown, usedUrl?: string): unknown;
  /** A batch of stamped events (page-script.ts `PageEvent`). */
  report(page: number, events: readonly unknown[]): void;
  /** The page's channel closed: the page is gone, or can no longer tell rtbench anything. */
  closed(page: number): void;
}

/**
 * A WebSocket on 127.0.0.1 over which each page of a subscriber thread tells rtbench what its
 * subscribers received (`['r', events]`), asks what one does next (`['n', id, answer]`, answered
 * `[id, next]`; one question out at a time per subscriber) and says which poll it built itself
 * (`['p', id, answer, url]`, unanswered); asked `['flush', n]`, it sends what it holds, then
 * `['f', n]`. One socket per page keeps all of it in order. It replaces
 * DevTools for all of this: a binding goes page -> browser -> DevTools -> rtbench and back, several
 * milliseconds on a busy machine. Only the pages this thread opened know the token in the URL; any
 * other connection is closed unanswered.
 */
export class PageChannel {
  /** Each page's socket, for `flush`; and the flushes waiting for their page's answer. */
  private readonly sockets = new Map<number, WebSocket>();
  private readonly flushes = new Map<number, () => void>();
  private nextFlush = 0;

  private constructor(
    private readonly server: WebSocketServer,
    private readonly token: string,
    private readonly port: number,
  ) {}

  static async open(listener: PageListener): Promise<PageChannel> {
    const token = randomBytes(16).toString('hex');
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_MESSAGE_BYTES });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const channel = new PageChannel(server, token, (server.address() as AddressInfo).port);
    server.on('connection', (socket, request) => {
      const url = new URL(request.url ?? '/', 'ws://127.0.0.1');
      const page = Number(url.searchParams.get('page'));
      if (url.searchParams.get('token') !== token || !Number.isInteger(page)) return socket.close(1008, 'not a page of this run');
      channel.sockets.set(page, socket);
      socket.on('message', (data) => channel.heard(socket, page, String(data), listener));
      socket.on('close', () => {
        channel.sockets.delete(page);
        listener.closed(page);
      });
    });
    return channel;
  }

  /**
   * Asks page `page` to send what it has stamped and not yet sent, and resolves once it has all come
   * (the page answers after its reports, on the same socket), or after `limitMs`.
   */
  flush(page: number, limitMs: number): Promise<void> {
    const socket = this.sockets.get(page);
    if (!socket) return Promise.resolve();
    const n = this.nextFlush++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, limitMs);
      const flushes = this.flushes;
      function done(): void {
        clearTimeout(timer);
        flushes.delete(n);
        resolve();
      }
      this.flushes.set(n, done);
      socket.send(JSON.stringify(['flush', n]));
    });
  }

  private heard(socket: WebSocket, page: number, text: string, listener: PageListener): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return void socket.close(1007, 'not JSON');
    }
    const [kind, id, answer, usedUrl] = Array.isArray(message) ? (message as unknown[]) : [];
    if (kind === 'r' && Array.isArray(id)) return listener.report(page, id);
    if (kind === 'n' && Number.isInteger(id)) return void socket.send(JSON.stringify([id, listener.next(page, id as number, answer) ?? null]));
    if (kind === 'p' && Number.isInteger(id) && typeof usedUrl === 'string') return void listener.next(page, id as number, answer, usedUrl);
    if (kind === 'f' && Number.isInteger(id)) return this.flushes.get(id as number)?.();
    socket.close(1008, "not ['r', events], ['n', id, answer], ['p', id, answer, url] or ['f', n]");
  }

  /** Where page `page` connects. */
  urlFor(page: number): string {
    return `ws://127.0.0.1:${this.port}/next?page=${page}&token=${this.token}`;
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
