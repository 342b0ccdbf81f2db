import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeepAliveConnection, MAX_BODY_BYTES } from '../clients/keep-alive-http.js';
import { MAX_EVENT_CHARS, MAX_LINE_CHARS, SseParser } from '../clients/sse-parser.js';
import { FrameError, FrameParser, MAX_FRAME_CHARS, MAX_HEADER_LINES } from '../core/stomp-frames.js';
import { testCleanup } from './helpers.js';

const cleanup = testCleanup();

/** What a push refused with (null when it did not). */
function refusal(push: () => unknown): FrameError | null {
  try {
    push();
  } catch (error) {
    if (error instanceof FrameError) return error;
    throw error;
  }
  return null;
}

/**
 * A server that does not play fair cannot make rtbench hold without bound: each decoder refuses past
 * its limit with a named code, drops what it held, and the connection is closed (the client then
 * reconnects or counts the failure).
 */
describe('decoders against a hostile server', () => {
  it('SSE: a line that never ends, and an event that never dispatches, break the stream with their code', () => {
    const endless = new SseParser(() => {});
    const piece = 'x'.repeat(64 * 1024);
    for (let fed = 0; fed <= MAX_LINE_CHARS && endless.broken === null; fed += piece.length) endless.feed(fed === 0 ? `data: ${piece}` : piece);
    expect(endless.broken).toBe('SSE_LINE_TOO_LONG');
    endless.feed('\n\n');
    expect(endless.broken).toBe('SSE_LINE_TOO_LONG');

    const dispatched: string[] = [];
    const undispatched = new SseParser((event) => dispatched.push(event.data));
    const line = `data: ${'y'.repeat(512 * 1024)}\n`;
    for (let fed = 0; fed <= MAX_EVENT_CHARS + line.length && undispatched.broken === null; fed += line.length) undispatched.feed(line);
    expect(undispatched.broken).toBe('SSE_EVENT_TOO_LARGE');
    expect(dispatched).toEqual([]);
    // A well-formed stream of the same size in many events is read as usual.
    const fair = new SseParser((event) => dispatched.push(event.data));
    for (let i = 0; i < 40; i++) fair.feed(`data: ${'z'.repeat(512 * 1024)}\n\n`);
    expect(fair.broken).toBeNull();
    expect(dispatched).toHaveLength(40);
  });

  it('STOMP: a frame that never ends is refused as STOMP_FRAME_TOO_LARGE and not kept', () => {
    const parser = new FrameParser();
    const piece = 'w'.repeat(1024 * 1024);
    parser.push(`MESSAGE\ndestination:/topic/a\n\n${piece}`);
    let refused: unknown = null;
    for (let fed = piece.length; fed <= MAX_FRAME_CHARS + piece.length && refused === null; fed += piece.length) {
      try {
        parser.push(piece);
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(FrameError);
    expect((refused as FrameError).code).toBe('STOMP_FRAME_TOO_LARGE');
    // Nothing of it is held: the next whole frame reads.
    expect(parser.push('MESSAGE\ndestination:/topic/a\n\nok\0').map((f) => f.body)).toEqual(['ok']);
  });

  it('STOMP: a frame held in pieces is kept up to exactly its limit; past it, refused with the frames read before it', () => {
    const head = 'MESSAGE\ndestination:/topic/a\n\n';
    const piece = 'p'.repeat(256 * 1024);
    // Exactly the limit, held across NUL-less pieces, then its NUL: read whole.
    const atLimit = new FrameParser();
    let held = 0;
    const body = (chars: number): string[] => {
      const parts: string[] = [];
      for (let left = chars; left > 0; left -= piece.length) parts.push(left >= piece.length ? piece : piece.slice(0, left));
      return parts;
    };
    for (const part of [head, ...body(MAX_FRAME_CHARS - head.length)]) {
      expect(atLimit.push(part)).toEqual([]);
      held += part.length;
    }
    expect(held).toBe(MAX_FRAME_CHARS);
    expect(atLimit.push('\0MESSAGE\n\nnext\0').map((f) => f.body.length)).toEqual([MAX_FRAME_CHARS - head.length, 4]);
    // One character more: refused, with nothing read before it in that push.
    const past = new FrameParser();
    for (const part of [head, ...body(MAX_FRAME_CHARS - head.length)]) past.push(part);
    const refused = refusal(() => past.push('q'));
    expect(refused?.code).toBe('STOMP_FRAME_TOO_LARGE');
    expect(refused?.frames).toEqual([]);
    expect(refused?.message).toContain(String(MAX_FRAME_CHARS));
    // A push that ends two whole frames and then starts one past the limit: the two are handed on.
    const after = new FrameParser();
    const cut = refusal(() => after.push(`MESSAGE\n\none\0MESSAGE\n\ntwo\0${head}${'r'.repeat(MAX_FRAME_CHARS)}`));
    expect(cut?.code).toBe('STOMP_FRAME_TOO_LARGE');
    expect(cut?.frames.map((f) => f.body)).toEqual(['one', 'two']);
    // After the refusal nothing of it is held: the next frame reads alone.
    expect(after.push('MESSAGE\n\nthree\0').map((f) => f.body)).toEqual(['three']);
  });

  it('STOMP: a bad frame is refused again on the next push, without the good frames read before it', () => {
    const parser = new FrameParser();
    const first = refusal(() => parser.push('MESSAGE\n\nok\0MESSAGE\nbad line\n\nx\0'));
    expect(first?.code).toBe('STOMP_BAD_FRAME');
    expect(first?.frames.map((f) => f.body)).toEqual(['ok']);
    expect(first?.message).toContain('"bad line"');
    const again = refusal(() => parser.push('MESSAGE\n\nlater\0'));
    expect(again?.code).toBe('STOMP_BAD_FRAME');
    expect(again?.frames).toEqual([]);
  });

  it('STOMP: a head of too many header lines is refused; heart-beats alone are never held', () => {
    const parser = new FrameParser();
    const head = Array.from({ length: MAX_HEADER_LINES + 1 }, (_, i) => `h${i}:v\n`).join('');
    expect(() => parser.push(`MESSAGE\n${head}\nbody\0`)).toThrow(expect.objectContaining({ code: 'STOMP_TOO_MANY_HEADERS' }));
    const fine = new FrameParser();
    expect(fine.push(`MESSAGE\n${head.split('\n').slice(0, MAX_HEADER_LINES).join('\n')}\n\nok\0`).map((f) => f.body)).toEqual(['ok']);
    // Far more heart-beat EOLs than a frame may hold: nothing is kept, nothing refused.
    const beats = new FrameParser();
    const eols = '\r\n'.repeat(64 * 1024);
    for (let i = 0; i * eols.length <= 2 * MAX_FRAME_CHARS; i++) expect(beats.push(eols)).toEqual([]);
    expect(beats.push('MESSAGE\n\nafter\0').map((f) => f.body)).toEqual(['after']);
  });

  it('HTTP: an answer body past its limit fails the request as <prefix>_BODY_TOO_LARGE and closes the socket', async () => {
    let written = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${4 * MAX_BODY_BYTES}\r\n\r\n`);
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        const pump = (): void => {
          // Bounded: at most twice the limit is ever offered.
          while (!socket.destroyed && written < 2 * MAX_BODY_BYTES) {
            written += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    const origin = new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const connection = new KeepAliveConnection(origin, { connectTimeoutMs: 2000 });
    cleanup.add(() => connection.abort());
    await expect(connection.get(new URL('/poll', origin), {}, 20_000)).rejects.toMatchObject({ code: 'LP_BODY_TOO_LARGE' });
    expect(written).toBeLessThan(2 * MAX_BODY_BYTES + 1);
  }, 30_000);
});
