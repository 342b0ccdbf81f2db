import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyReader, framingOf } from '../clients/http-body.js';
import { SseParser, type SseEvent } from '../clients/sse-parser.js';
import { sseClient } from '../clients/sse.js';
import type { SseSpec } from '../clients/types.js';
import { clientContext, waitFor } from './helpers.js';

function parseAll(pieces: readonly string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const piece of pieces) parser.feed(piece);
  return events;
}

/** Splits `text` into pieces of `size` characters. */
const cut = (text: string, size: number): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('SseParser (the event-stream interpretation)', () => {
  const stream = ': comment\n\nevent: connected\ndata: {}\n\nid: 7\ndata: first\ndata:second\r\n\r\ndata: no id line\r\rid: bad\0id\nevent: gap\ndata: {"from":1}\n\ndata\n\nevent: ignored\n\nretry: 10\ndata: after retry\n\ndata: never dispatched';
  const expected: SseEvent[] = [
    { type: 'connected', data: '{}', lastEventId: '' },
    { type: 'message', data: 'first\nsecond', lastEventId: '7' },
    { type: 'message', data: 'no id line', lastEventId: '7' },
    { type: 'gap', data: '{"from":1}', lastEventId: '7' },
    { type: 'message', data: '', lastEventId: '7' },
    { type: 'message', data: 'after retry', lastEventId: '7' },
  ];

  it('reads the same events whatever the text is cut into (CR, LF and CRLF, a CRLF split across reads)', () => {
    for (const size of [stream.length, 50, 7, 2, 1]) expect(parseAll(cut(stream, size)), `pieces of ${size}`).toEqual(expected);
  });
});

describe('BodyReader', () => {
  const read = (framing: Parameters<typeof framingOf>[0], bytes: Buffer, size: number) => {
    const framed = framingOf(framing);
    if (framed === 'bad') return 'bad';
    const out: Buffer[] = [];
    const reader = new BodyReader(framed, (data, start, end) => out.push(Buffer.from(data.subarray(start, end))));
    const scratch = Buffer.alloc(size);
    let done = false;
    for (let at = 0; at < bytes.length && !done && !reader.broken; at += size) {
      const piece = bytes.subarray(at, at + size);
      piece.copy(scratch);
      done = reader.feed(scratch, 0, piece.length);
      scratch.fill(0xee);
    }
    return { body: Buffer.concat(out).toString(), done, broken: reader.broken };
  };
  const chunked = new Map([['transfer-encoding', 'chunked']]);

  it('de-chunks whatever the reads are cut into, with chunk extensions and trailers, and stops at the last chunk', () => {
    const bytes = Buffer.from('5\r\nhello\r\n1a;ext=1\r\n, a longer chunk of text..\r\n0\r\nx-trailer: 1\r\n\r\nNOT BODY');
    for (const size of [bytes.length, 9, 1]) expect(read(chunked, bytes, size), `pieces of ${size}`).toEqual({ body: 'hello, a longer chunk of text..', done: true, broken: false });
  });

  it('reads chunk sizes in either case with LF-only line ends, and refuses a size of 13 hex digits', () => {
    const bytes = Buffer.from('A\n0123456789\nb\r\n, ten more.\r\n0\n\n');
    for (const size of [bytes.length, 2, 1]) expect(read(chunked, bytes, size), `pieces of ${size}`).toEqual({ body: '0123456789, ten more.', done: true, broken: false });
    expect(read(chunked, Buffer.from('0000000000005\r\nhello\r\n0\r\n\r\n'), 100)).toMatchObject({ broken: true });
    expect(read(chunked, Buffer.from('000000000005\r\nhello\r\n0\r\n\r\n'), 100)).toEqual({ body: 'hello', done: true, broken: false });
    expect(read(chunked, Buffer.from('5\r\nhello\rX\r\n'), 100)).toMatchObject({ broken: true });
  });

  it('refuses broken chunked framing, and reads content-length and close-delimited bodies', () => {
    expect(read(chunked, Buffer.from('zz\r\nhello\r\n'), 100)).toMatchObject({ broken: true });
    expect(read(chunked, Buffer.from('2\r\nhello\r\n'), 100)).toMatchObject({ broken: true });
    expect(read(new Map([['content-length', '5']]), Buffer.from('helloEXTRA'), 3)).toEqual({ body: 'hello', done: true, broken: false });
    expect(read(new Map(), Buffer.from('until the end'), 4)).toEqual({ body: 'until the end', done: false, broken: false });
    expect(framingOf(new Map([['transfer-encoding', 'gzip']]))).toBe('bad');
    expect(framingOf(new Map([['content-length', '-1']]))).toBe('bad');
  });
});

describe('the SSE subscriber (clients/sse.ts)', () => {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function server(handler: http.RequestListener): Promise<string> {
    const app = http.createServer(handler);
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    closers.push(() => {
      app.closeAllConnections();
      app.close();
    });
    return `http://127.0.0.1:${(app.address() as net.AddressInfo).port}/events?room=1`;
  }

  function subscribe(url: string, openEvent: string | null, connectTimeoutMs = 5000) {
    const contents: string[] = [];
    const errors: string[] = [];
    const spec: SseSpec = {
      transport: 'sse',
      url: () => url,
      headers: (cursor): Record<string, string> => (cursor === null ? { authorization: 'Bearer t' } : { authorization: 'Bearer t', 'Last-Event-ID': String(cursor) }),
      openEvent,
      events: ['message'],
      read: (event) => ({ messages: [{ content: event.data, id: event.lastEventId }], cursor: event.lastEventId }),
    };
    const subscription = sseClient.subscribe(clientContext({ connectTimeoutMs }), spec, { onMessage: (content) => contents.push(content), onError: (code) => errors.push(code) });
    closers.push(() => subscription.close());
    return { subscription, contents, errors };
  }

  it('reads a chunked stream of UTF-8 split mid-character, opens on the named event, and resumes with Last-Event-ID', async () => {
    const requests: http.IncomingHttpHeaders[] = [];
    const url = await server((request, response) => {
      requests.push(request.headers);
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      const text = Buffer.from(`\uFEFFevent: connected\ndata: {}\n\nid: ${requests.length}\ndata: h\u00e9llo w\u00f6rld\n\n`);
      // Cut inside the two-byte é: the decoder must carry it across chunks.
      const cutAt = text.indexOf(0xc3) + 1;
      response.write(text.subarray(0, cutAt));
      setTimeout(() => response.write(text.subarray(cutAt)), 20);
      if (requests.length === 1) setTimeout(() => response.end(), 60);
    });
    const { subscription, contents, errors } = subscribe(url, 'connected');
    await subscription.ready;
    await waitFor(() => contents.length === 2, 'a message on each of two connections');
    expect(contents).toEqual(['héllo wörld', 'héllo wörld']);
    expect(errors).toEqual(['SSE_DISCONNECTED']);
    expect(requests[0]).toMatchObject({ accept: 'text/event-stream', authorization: 'Bearer t', 'cache-control': 'no-cache' });
    expect(requests[0]!['last-event-id']).toBeUndefined();
    expect(requests[1]!['last-event-id']).toBe('1');
    expect(subscription.stats()).toMatchObject({ reconnects: 1, disconnects: 1 });
  });

  it('fails a connection as EventSource does: an HTTP error, a wrong content type, no answer', async () => {
    const notFound = subscribe(await server((_request, response) => response.writeHead(404).end()), null);
    await expect(notFound.subscription.ready).rejects.toMatchObject({ code: 'HTTP_404' });

    const html = subscribe(await server((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<p>')), null);
    await expect(html.subscription.ready).rejects.toMatchObject({ code: 'SSE_BAD_CONTENT_TYPE' });

    const silent = subscribe(await server(() => {}), null, 100);
    await expect(silent.subscription.ready).rejects.toMatchObject({ code: 'SSE_CONNECT_TIMEOUT' });
  });

  it('counts as open on the response head when the profile names no open event', async () => {
    const url = await server((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
    });
    const { subscription } = subscribe(url, null);
    await subscription.ready;
    expect(subscription.stats().connected).toBe(true);
  });
});

describe('framingOf: how an HTTP/1.1 answer says where its body ends', () => {
  const framing = (headers: Record<string, string>) => framingOf(new Map(Object.entries(headers)));
  it('reads chunked last in transfer-encoding, a decimal content-length, or until close', () => {
    expect(framing({ 'transfer-encoding': 'chunked' })).toEqual({ kind: 'chunked' });
    expect(framing({ 'transfer-encoding': 'gzip, CHUNKED' })).toEqual({ kind: 'chunked' });
    expect(framing({ 'transfer-encoding': 'gzip ,chunked' })).toEqual({ kind: 'chunked' });
    // Transfer-encoding wins over content-length; chunked not last (or absent) cannot be read.
    expect(framing({ 'transfer-encoding': 'chunked', 'content-length': '5' })).toEqual({ kind: 'chunked' });
    expect(framing({ 'transfer-encoding': 'chunked, gzip' })).toBe('bad');
    expect(framing({ 'transfer-encoding': 'xchunked' })).toBe('bad');
    expect(framing({ 'content-length': '42' })).toEqual({ kind: 'length', bytes: 42 });
    expect(framing({ 'content-length': '0' })).toEqual({ kind: 'length', bytes: 0 });
    for (const bad of ['', '4x', 'x4', '-1', '1.5', ' 4']) expect(framing({ 'content-length': bad }), bad).toBe('bad');
    expect(framing({})).toEqual({ kind: 'close' });
  });

  it('hands on a length-framed body up to its length, and one until close as it comes', () => {
    const read = (framed: ReturnType<typeof framingOf>, parts: string[]) => {
      const kept: string[] = [];
      const reader = new BodyReader(framed as Exclude<typeof framed, 'bad'>, (data, start, end) => kept.push(data.toString('latin1', start, end)));
      const done = parts.map((part) => reader.feed(Buffer.from(`..${part}`, 'latin1'), 2, part.length + 2));
      return { kept, done, finished: reader.done };
    };
    expect(read({ kind: 'length', bytes: 5 }, ['abc', 'defg'])).toEqual({ kept: ['abc', 'de'], done: [false, true], finished: true });
    expect(read({ kind: 'length', bytes: 0 }, [])).toEqual({ kept: [], done: [], finished: true });
    expect(read({ kind: 'close' }, ['ab', '', 'c'])).toEqual({ kept: ['ab', 'c'], done: [false, false, false], finished: false });
  });

  it('breaks a chunked body on a size line of more than 1 KiB, however it arrives, and on one that is not hex', () => {
    const chunked = (parts: string[]) => {
      const reader = new BodyReader({ kind: 'chunked' }, () => {});
      for (const part of parts) reader.feed(Buffer.from(part, 'latin1'), 0, part.length);
      return reader.broken;
    };
    const long = `5;${'x'.repeat(1100)}\r\nhello\r\n0\r\n\r\n`;
    expect(chunked([long])).toBe(true);
    expect(chunked([long.slice(0, 600), long.slice(600)])).toBe(true);
    // Just under the limit: read.
    const short = `5;${'x'.repeat(1000)}\r\nhello\r\n0\r\n\r\n`;
    expect(chunked([short])).toBe(false);
    expect(chunked(['zz\r\n'])).toBe(true);
    expect(chunked(['5\r\nhelloXX\r\n'])).toBe(true);
  });
});
