import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeepAliveConnection } from '../clients/keep-alive-http.js';
import { testCleanup } from './helpers.js';

const cleanup = testCleanup();

/**
 * A server that answers each request it reads (one request head per answer) with the next scripted
 * answer: a list of byte pieces written one after another, then optionally the socket closed. It
 * counts the sockets it accepted, so reuse of the connection can be checked.
 */
async function scripted(answers: Array<{ pieces: Array<string | Buffer>; close?: boolean } | 'hang' | 'cut'>) {
  const requests: string[] = [];
  let sockets = 0;
  const server = net.createServer((socket) => {
    sockets++;
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', async (chunk) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        requests.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 4);
        const answer = answers.shift();
        if (answer === undefined || answer === 'hang') continue;
        if (answer === 'cut') {
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nonly part');
          continue;
        }
        for (const piece of answer.pieces) {
          socket.write(piece);
          // Separate reads on the client: each piece is flushed before the next is written.
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        if (answer.close) socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.add(() => new Promise((resolve) => server.close(resolve)));
  const origin = new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  return { origin, requests, sockets: () => sockets, server };
}

function client(origin: URL, onSocketOpen?: () => void): KeepAliveConnection {
  const get = new KeepAliveConnection(origin, { connectTimeoutMs: 2000 }, onSocketOpen);
  cleanup.add(() => get.abort());
  return get;
}

const json = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('KeepAliveConnection (the long-polling subscriber connection)', () => {
  it('sends polls one after another on one kept socket and reads length-framed and chunked bodies cut anywhere', async () => {
    const unicode = '[{"content":"ünï ✓ 🚀"}]';
    const bytes = Buffer.from(unicode);
    // The 4-byte emoji split across two reads, and a chunked body whose size lines are split too.
    const split = bytes.indexOf(0xf0) + 2;
    const { origin, requests, sockets } = await scripted([
      { pieces: [json('[1]')] },
      { pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${bytes.length}\r\n\r\n`, bytes.subarray(0, split), bytes.subarray(split)] },
      { pieces: ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-gap: 3-4\r\n\r\n', '3\r', '\n[2,\r\n', '2\r\n3]\r\n0\r\n', '\r\n'] },
    ]);
    let opened = 0;
    const get = client(origin, () => opened++);
    const first = await get.get(new URL('/lp?since=0', origin), { accept: 'application/json', authorization: 'Bearer t' }, 5000);
    expect(first).toMatchObject({ status: 200, body: '[1]', headers: { 'content-type': 'application/json' } });
    expect(get.socketUp).toBe(true);
    expect((await get.get(new URL('/lp?since=1', origin), {}, 5000)).body).toBe(unicode);
    const third = await get.get(new URL('/lp?since=2', origin), {}, 5000);
    expect(third).toMatchObject({ body: '[2,3]', headers: { 'x-gap': '3-4' } });
    expect(sockets()).toBe(1);
    expect(opened).toBe(1);
    expect(requests[0]).toMatch(/^GET \/lp\?since=0 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\naccept: application\/json\r\nauthorization: Bearer t$/);
    expect(requests.map((r) => r.split(' ')[1])).toEqual(['/lp?since=0', '/lp?since=1', '/lp?since=2']);
    expect(first.receivedUs).toBeLessThan(third.receivedUs);
  });

  it('sends the same request for a URL string as for the URL object: cut after the origin, parsed otherwise', async () => {
    const { origin, requests } = await scripted(Array.from({ length: 8 }, () => ({ pieces: [json('[]')] })));
    const base = origin.origin;
    const strings = [`${base}/lp?since=7&timeout=30000`, `${base}?since=8`, `${base}/a/../lp?since=9`, `${base}/lp#part`, `${base}/x/%2e%2e/lp`, `${base}/r/ü b`, `${base}/lp?q=/./`];
    const get = client(new URL('/lp?since=0', origin));
    for (const url of strings) await get.get(url, { accept: 'application/json' }, 5000);
    await get.get(new URL('/lp?since=10', origin), {}, 5000);
    // Heads compared whole: the string path writes what a URL object gives (normalised when parsed).
    expect(requests[0]).toBe(`GET /lp?since=7&timeout=30000 HTTP/1.1\r\nHost: ${origin.host}\r\naccept: application/json`);
    expect(requests.map((r) => r.split(' ')[1])).toEqual([...strings.map((url) => { const parsed = new URL(url); return `${parsed.pathname}${parsed.search}`; }), '/lp?since=10']);
    expect(requests.slice(0, 7).map((r) => r.split(' ')[1])).toEqual(['/lp?since=7&timeout=30000', '/?since=8', '/lp?since=9', '/lp', '/lp', '/r/%C3%BC%20b', '/lp?q=/./']);
  });

  it('opens a new socket after an answer that closes the connection, and reads 204 and 304 as empty whatever they say', async () => {
    const { origin, sockets } = await scripted([
      { pieces: [json('[]', 'connection: close\r\n')], close: true },
      { pieces: ['HTTP/1.1 304 Not Modified\r\ncontent-length: 12\r\n\r\n'] },
      { pieces: ['HTTP/1.1 204 No Content\r\n\r\n'] },
      { pieces: ['HTTP/1.1 200 OK\r\n\r\n', '[7', ']'], close: true },
    ]);
    let opened = 0;
    const get = client(origin, () => opened++);
    expect((await get.get(new URL('/a', origin), {}, 5000)).body).toBe('[]');
    expect(get.socketUp).toBe(false);
    expect(await get.get(new URL('/b', origin), {}, 5000)).toMatchObject({ status: 304, body: '' });
    expect(await get.get(new URL('/c', origin), {}, 5000)).toMatchObject({ status: 204, body: '' });
    // No length and no chunking: the body is everything up to the connection's end.
    expect(await get.get(new URL('/d', origin), {}, 5000)).toMatchObject({ status: 200, body: '[7]' });
    expect(sockets()).toBe(2);
    expect(opened).toBe(2);
  });

  it('fails with a code: cut short, not answered in time, not HTTP, refused, aborted; and recovers on the next request', async () => {
    const { origin, sockets } = await scripted(['cut', 'hang', { pieces: ['SSH-2.0-OpenSSH\r\n\r\n'] }, { pieces: [json('"ok"')] }, 'hang']);
    const get = client(origin);
    await expect(get.get(new URL('/cut', origin), {}, 5000)).rejects.toMatchObject({ code: 'LP_DISCONNECTED' });
    const startedMs = Date.now();
    await expect(get.get(new URL('/hang', origin), {}, 150)).rejects.toMatchObject({ code: 'LP_TIMEOUT' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(140);
    await expect(get.get(new URL('/ssh', origin), {}, 5000)).rejects.toMatchObject({ code: 'LP_BAD_RESPONSE' });
    expect((await get.get(new URL('/ok', origin), {}, 5000)).body).toBe('"ok"');
    const held = get.get(new URL('/held', origin), {}, 0);
    get.abort();
    await expect(held).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(get.socketUp).toBe(false);
    expect(sockets()).toBe(4);

    const closed = net.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = client(new URL(`http://127.0.0.1:${port}`));
    await expect(refused.get(new URL(`http://127.0.0.1:${port}/x`), {}, 5000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('drops a connection whose chunked framing is broken', async () => {
    const { origin } = await scripted([{ pieces: ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', 'zz\r\n'] }, { pieces: [json('[]')] }]);
    const get = client(origin);
    await expect(get.get(new URL('/bad', origin), {}, 5000)).rejects.toMatchObject({ code: 'LP_BAD_CHUNK' });
    expect((await get.get(new URL('/next', origin), {}, 5000)).body).toBe('[]');
  });
});
