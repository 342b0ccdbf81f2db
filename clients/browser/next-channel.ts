import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** A long-poll answer may carry many messages; a page's question is never larger than what it read. */
const MAX_QUESTION_BYTES = 64 * 1024 * 1024;

/**
 * Answers a page's question: `id` is the subscriber, `answer` what its last poll read (null when
 * none). With `usedUrl`, a notice instead: the page built its next poll itself (that URL) and wants
 * no answer; the answer is read all the same.
 */
export type NextAnswerer = (page: number, id: number, answer: unknown, usedUrl?: string) => unknown;

/**
 * A WebSocket on 127.0.0.1 over which a page asks what its subscriber does next (the next long
 * poll, where a WebSocket reconnects). It replaces DevTools for that question: a binding goes page
 * -> browser -> Playwright and back, several milliseconds on a busy machine, and a message that
 * comes while a long-polling page waits for its answer waits too. Only the pages this thread
 * opened know the token in the URL; any other connection is closed unanswered.
 *
 * Questions are `[id, answer]`, answers `[id, next]` (JSON): a subscriber has one question out at a
 * time. Notices are `[id, answer, usedUrl]`, unanswered. One socket per page keeps them in order.
 */
export class NextChannel {
  private constructor(
    private readonly server: WebSocketServer,
    private readonly token: string,
    private readonly port: number,
  ) {}

  static async open(answerer: NextAnswerer): Promise<NextChannel> {
    const token = randomBytes(16).toString('hex');
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_QUESTION_BYTES });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('connection', (socket, request) => {
      const url = new URL(request.url ?? '/', 'ws://127.0.0.1');
      const page = Number(url.searchParams.get('page'));
      if (url.searchParams.get('token') !== token || !Number.isInteger(page)) return socket.close(1008, 'not a page of this run');
      socket.on('message', (data) => NextChannel.answer(socket, page, String(data), answerer));
    });
    return new NextChannel(server, token, (server.address() as AddressInfo).port);
  }

  private static answer(socket: WebSocket, page: number, text: string, answerer: NextAnswerer): void {
    let question: unknown;
    try {
      question = JSON.parse(text);
    } catch {
      return void socket.close(1007, 'not JSON');
    }
    if (!Array.isArray(question) || question.length < 2 || question.length > 3 || !Number.isInteger(question[0])) return void socket.close(1008, 'not [id, answer] or [id, answer, url]');
    const id = question[0] as number;
    if (question.length === 3) return void answerer(page, id, question[1], String(question[2]));
    socket.send(JSON.stringify([id, answerer(page, id, question[1]) ?? null]));
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
