import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { nowUs } from '../core/clock.js';
import { DelayProxy, type DelayProxyOptions, HIGH_WATER_BYTES, lossDrawCount } from '../run/proxy.js';
import { seededRandom } from '../core/random.js';
import { waitFor } from './helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A TCP server on 127.0.0.1:0 whose behaviour per connection the test supplies. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function proxyTo(port: number, options: Partial<DelayProxyOptions>): Promise<{ proxy: DelayProxy; port: number }> {
  const proxy = new DelayProxy({ upstreamHost: '127.0.0.1', upstreamPort: port, delayMs: 0, jitterMs: 0, mode: 'link', seed: 1, ...options });
  const url = await proxy.listen();
  closers.push(() => proxy.close());
  return { proxy, port: Number(new URL(url).port) };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  socket.on('error', () => {}); // a cut is expected in several tests
  await once(socket, 'connect');
  closers.push(() => void socket.destroy());
  return socket;
}

const waitUntil = (check: () => boolean): Promise<void> => waitFor(check, 'the proxy to get there', 5000);

/** Resolves with the time the client has received `bytes` bytes in all. */
function receive(socket: net.Socket, bytes: number): Promise<{ atUs: number; data: Buffer }> {
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) {
        socket.off('data', onData);
        resolve({ atUs: nowUs(), data: Buffer.concat(chunks) });
      }
    };
    socket.on('data', onData);
  });
}

describe('DelayProxy, link mode', () => {
  it('delays each direction by the one-way delay, once: an echo takes two delays and not much more', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { port } = await proxyTo(echo, { delayMs: 50 });
    const client = await connect(port);
    for (let i = 0; i < 3; i++) {
      const sentUs = nowUs();
      const answer = receive(client, 4);
      client.write('ping');
      const { atUs, data } = await answer;
      expect(data.toString()).toBe('ping');
      // Two one-way delays; a delay applied twice (200 ms) or not at all (0 ms) is outside the band.
      expect(atUs - sentUs).toBeGreaterThanOrEqual(100_000);
      expect(atUs - sentUs).toBeLessThan(125_000);
    }
  });

  it('delays bytes the server pushes on its own', async () => {
    let pushedUs = 0;
    const pusher = await tcpServer((socket) => {
      socket.once('data', () => {
        pushedUs = nowUs();
        socket.write('pushed');
      });
    });
    const { port } = await proxyTo(pusher, { delayMs: 40 });
    const client = await connect(port);
    const pushed = receive(client, 6);
    client.write('go');
    const { atUs } = await pushed;
    expect(atUs - pushedUs).toBeGreaterThanOrEqual(40_000);
    expect(atUs - pushedUs).toBeLessThan(60_000);
  });

  it('delays each chunk by its own seeded draw from delay ± jitter', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { port } = await proxyTo(echo, { delayMs: 30, jitterMs: 20, seed: 3 });
    const client = await connect(port);
    // The same generator, replayed: each round trip is one draw up and one draw down.
    const random = seededRandom(3);
    const draw = (): number => Math.max(0, 30 + (random() * 2 - 1) * 20);
    const expectedMs: number[] = [];
    const measuredMs: number[] = [];
    for (let i = 0; i < 6; i++) {
      expectedMs.push(draw() + draw());
      const sentUs = nowUs();
      const answer = receive(client, 1);
      client.write('x');
      measuredMs.push(((await answer).atUs - sentUs) / 1000);
    }
    for (const [i, ms] of measuredMs.entries()) {
      expect(ms, `round trip ${i}`).toBeGreaterThanOrEqual(expectedMs[i]! - 1);
      expect(ms, `round trip ${i}`).toBeLessThan(expectedMs[i]! + 12);
    }
    // The draws really vary: jitter is applied, not just allowed.
    expect(Math.max(...expectedMs) - Math.min(...expectedMs)).toBeGreaterThan(10);
  });

  it('passes the end of a stream through, after the bytes before it', async () => {
    let ended: (received: string) => void = () => {};
    const endedWith = new Promise<string>((resolve) => (ended = resolve));
    const collector = await tcpServer((socket) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => ended(text));
    });
    const { proxy, port } = await proxyTo(collector, { delayMs: 30 });
    const client = await connect(port);
    client.end('last words');
    expect(await endedWith).toBe('last words');
    await waitUntil(() => proxy.openConnections === 0);
  });

  it('forgets a connection once either side closes it, and counts what it accepted', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { proxy, port } = await proxyTo(echo, {});
    const first = await connect(port);
    await connect(port);
    await waitUntil(() => proxy.openConnections === 2);
    expect(proxy.accepted).toBe(2);
    first.destroy();
    await waitUntil(() => proxy.openConnections === 1);
  });

  it('drops what it still held for a connection that was cut', async () => {
    let received = 0;
    const counter = await tcpServer((socket) => socket.on('data', (chunk: Buffer) => (received += chunk.length)));
    const { proxy, port } = await proxyTo(counter, { delayMs: 100 });
    const client = await connect(port);
    const accepted = proxy.accepted;
    client.write('held in the proxy');
    await waitUntil(() => proxy.openConnections === 1 && proxy.accepted === accepted);
    proxy.cutAll();
    const witness = await connect(port);
    const answerWritten = new Promise((resolve) => witness.write('x', resolve));
    await answerWritten;
    // Long after the delay has passed, the cut connection's bytes never reached the server.
    await waitUntil(() => received >= 1);
    expect(received).toBe(1);
  });

  it('refuses options it cannot honour', () => {
    const base = { upstreamHost: '127.0.0.1', upstreamPort: 1, mode: 'link', seed: 1 } as const;
    expect(() => new DelayProxy({ ...base, delayMs: -1, jitterMs: 0 })).toThrow(RangeError);
    expect(() => new DelayProxy({ ...base, delayMs: 0, jitterMs: -1 })).toThrow('delayMs and jitterMs must be >= 0');
    expect(() => new DelayProxy({ ...base, delayMs: Number.NaN, jitterMs: 0 })).toThrow(RangeError);
  });

  it('reports a port it cannot listen on', async () => {
    const taken = await tcpServer(() => {});
    const proxy = new DelayProxy({ upstreamHost: '127.0.0.1', upstreamPort: taken, delayMs: 0, jitterMs: 0, mode: 'link', seed: 1 });
    await expect(proxy.listen('127.0.0.1', taken)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('stops reading from a sender whose receiver does not keep up, and loses nothing', async () => {
    const total = 8 * 1024 * 1024;
    let serverSocket: net.Socket | null = null;
    let receivedBytes = 0;
    let checksum = 0;
    const slow = await tcpServer((socket) => {
      serverSocket = socket;
      socket.pause();
      socket.on('data', (chunk: Buffer) => {
        for (const byte of chunk) checksum = (checksum * 31 + byte) >>> 0;
        receivedBytes += chunk.length;
      });
    });
    const { proxy, port } = await proxyTo(slow, {});
    const client = await connect(port);
    const payload = Buffer.alloc(total);
    for (let i = 0; i < total; i++) payload[i] = (i * 7919) & 0xff;
    let expectedChecksum = 0;
    for (const byte of payload) expectedChecksum = (expectedChecksum * 31 + byte) >>> 0;
    client.write(payload);
    // The proxy fills up to its high-water mark, then stops reading: the rest waits at the sender.
    await waitUntil(() => proxy.peakQueuedBytes > HIGH_WATER_BYTES);
    (serverSocket as net.Socket | null)?.resume();
    await waitFor(() => receivedBytes === total, 'every byte to arrive', 20_000);
    expect(checksum).toBe(expectedChecksum);
    // Never much more than the mark per direction: one read's worth beyond it at most.
    expect(proxy.peakQueuedBytes).toBeLessThanOrEqual(HIGH_WATER_BYTES + 256 * 1024);
  });

  it('keeps byte order under jitter', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { port } = await proxyTo(echo, { delayMs: 10, jitterMs: 10, seed: 42 });
    const client = await connect(port);
    const lines = Array.from({ length: 300 }, (_, i) => `${i}\n`).join('');
    const answer = receive(client, lines.length);
    for (let i = 0; i < 300; i++) client.write(`${i}\n`);
    expect((await answer).data.toString()).toBe(lines);
  });

  it('cuts every connection on demand and can refuse new ones', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { proxy, port } = await proxyTo(echo, {});
    const clients = await Promise.all([connect(port), connect(port), connect(port)]);
    const closed = clients.map((client) => once(client, 'close'));
    await waitUntil(() => proxy.openConnections === 3);
    expect(proxy.cutAll()).toBe(3);
    await Promise.all(closed);
    expect(proxy.openConnections).toBe(0);
    proxy.setRefusing(true);
    const refused = net.connect({ host: '127.0.0.1', port });
    refused.on('error', () => {});
    await once(refused, 'close');
    proxy.setRefusing(false);
    const again = await connect(port);
    const answer = receive(again, 2);
    again.write('ok');
    expect((await answer).data.toString()).toBe('ok');
  });
});

describe('DelayProxy, request mode (the seed nginx sleep)', () => {
  it('delays each HTTP request once, and not the frames pushed after an upgrade', async () => {
    let pushedUs = 0;
    const upgrading = await tcpServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
        pushedUs = nowUs();
        socket.write('frame');
      });
    });
    const { port } = await proxyTo(upgrading, { delayMs: 200, mode: 'request' });
    const client = await connect(port);
    const sentUs = nowUs();
    const upgraded = receive(client, 'HTTP/1.1 101 Switching Protocols\r\n\r\nframe'.length);
    client.write('GET /ws HTTP/1.1\r\nHost: x\r\n\r\n');
    const { atUs } = await upgraded;
    // The request waited the delay once; the pushed frame was not delayed again.
    expect(atUs - sentUs).toBeGreaterThanOrEqual(200_000);
    expect(atUs - sentUs).toBeLessThan(225_000);
    expect(atUs - pushedUs).toBeLessThan(15_000);
  });

  it('delays only the start of a request: a body sent later goes straight after it, and nothing after an upgrade is delayed', async () => {
    const arrivals: Array<{ text: string; atUs: number }> = [];
    const server = await tcpServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        arrivals.push({ text, atUs: nowUs() });
        if (text.startsWith('GET /upgrade')) socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
      });
    });
    const { port } = await proxyTo(server, { delayMs: 100, mode: 'request' });
    const client = await connect(port);
    const sentUs = nowUs();
    client.write('POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write('body');
    await waitUntil(() => arrivals.map((a) => a.text).join('').includes('body'));
    // The body was sent 20 ms after the head; it leaves with the head, 100 ms after it was sent,
    // not 100 ms after itself.
    const bodyAt = arrivals.find((a) => a.text.includes('body'))!.atUs;
    expect(bodyAt - sentUs).toBeGreaterThanOrEqual(100_000);
    expect(bodyAt - sentUs).toBeLessThan(112_000);

    const upgraded = receive(client, 'HTTP/1.1 101 Switching Protocols\r\n\r\n'.length);
    client.write('GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n');
    await upgraded;
    // After the upgrade even bytes that look like a request pass at once.
    const rawSentUs = nowUs();
    const count = arrivals.length;
    client.write('GET /not-a-request');
    await waitUntil(() => arrivals.length > count);
    expect(arrivals.at(-1)!.atUs - rawSentUs).toBeLessThan(15_000);
  });

  it('delays every HTTP request on a keep-alive connection, and not the answers', async () => {
    let answeredUs = 0;
    const http = await tcpServer((socket) => {
      socket.on('data', () => {
        answeredUs = nowUs();
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const { port } = await proxyTo(http, { delayMs: 60, mode: 'request' });
    const client = await connect(port);
    for (let i = 0; i < 2; i++) {
      const sentUs = nowUs();
      const answer = receive(client, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'.length);
      client.write('POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      const { atUs } = await answer;
      expect(atUs - sentUs).toBeGreaterThanOrEqual(60_000);
      expect(atUs - sentUs).toBeLessThan(85_000);
      expect(atUs - answeredUs).toBeLessThan(15_000);
    }
  });
});

describe('DelayProxy faults', () => {
  it('a stall holds every byte of one direction for its duration, then delivers them in order', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { proxy, port } = await proxyTo(echo, {});
    const client = await connect(port);
    const warm = receive(client, 2);
    client.write('ok');
    await warm;
    const stallMs = 300;
    const stalledUs = nowUs();
    proxy.stall('down', stallMs);
    const text = Array.from({ length: 50 }, (_, i) => `${i};`).join('');
    const answer = receive(client, text.length);
    for (let i = 0; i < 50; i++) client.write(`${i};`);
    const { atUs, data } = await answer;
    expect(data.toString()).toBe(text);
    expect(atUs - stalledUs).toBeGreaterThanOrEqual(stallMs * 1000);
    expect(atUs - stalledUs).toBeLessThan((stallMs + 60) * 1000);
    // Once it has healed, bytes pass at once again.
    const sentUs = nowUs();
    const after = receive(client, 5);
    client.write('after');
    expect((await after).atUs - sentUs).toBeLessThan(20_000);
  });

  it('an upstream stall holds what the client sends, not what the server sends', async () => {
    let serverGotUs = 0;
    const pusher = await tcpServer((socket) => {
      socket.on('data', () => (serverGotUs = nowUs()));
      socket.write('hello');
    });
    const { proxy, port } = await proxyTo(pusher, {});
    const client = await connect(port);
    await receive(client, 5);
    const stalledUs = nowUs();
    proxy.stall('up', 200);
    client.write('x');
    await waitUntil(() => serverGotUs > 0);
    expect(serverGotUs - stalledUs).toBeGreaterThanOrEqual(200_000);
    expect(serverGotUs - stalledUs).toBeLessThan(260_000);
  });

  it('random loss makes one draw at once and one per period, and cuts exactly what the seed decides', async () => {
    expect(lossDrawCount(3000, 1000)).toBe(3);
    expect(lossDrawCount(2500, 1000)).toBe(3);
    expect(lossDrawCount(1000, 1000)).toBe(1);
    expect(lossDrawCount(0, 1000)).toBe(0);

    const quiet = await tcpServer(() => {});
    const seed = 11;
    const probability = 0.3;
    const { proxy, port } = await proxyTo(quiet, { seed, lossPeriodMs: 40 });
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await connect(port));
    await waitUntil(() => proxy.openConnections === 10);
    let closed = 0;
    for (const client of clients) client.on('close', () => closed++);
    proxy.randomLoss(probability, 120);
    // The same generator, replayed: three draws over the connections still open, in accept order.
    const random = seededRandom(seed);
    let open = 10;
    let expected = 0;
    for (let draw = 0; draw < 3; draw++) {
      let cut = 0;
      for (let c = 0; c < open; c++) if (random() < probability) cut++;
      open -= cut;
      expected += cut;
    }
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(10);
    await waitUntil(() => proxy.lossDraws === 3 && closed === expected);
    expect(proxy.lossCuts).toBe(expected);
    expect(proxy.openConnections).toBe(10 - expected);
    // And no fourth draw: wait out two more periods.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(proxy.lossDraws).toBe(3);
  });

  it('a new random-loss window replaces the running one; an empty window draws nothing; close stops it', async () => {
    const quiet = await tcpServer(() => {});
    const { proxy, port } = await proxyTo(quiet, { lossPeriodMs: 30 });
    await connect(port);
    await waitUntil(() => proxy.openConnections === 1);
    proxy.randomLoss(1, 0);
    expect(proxy.lossDraws).toBe(0);
    proxy.randomLoss(0, 10_000);
    expect(proxy.lossDraws).toBe(1);
    proxy.randomLoss(0, 30);
    expect(proxy.lossDraws).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(proxy.lossDraws).toBe(2);
    proxy.randomLoss(0, 10_000);
    await proxy.close();
    const drawsAtClose = proxy.lossDraws;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(proxy.lossDraws).toBe(drawsAtClose);
  });

  it('random loss with probability 1 cuts everything at once, with 0 nothing', async () => {
    const quiet = await tcpServer(() => {});
    const { proxy, port } = await proxyTo(quiet, { lossPeriodMs: 20 });
    for (let i = 0; i < 4; i++) await connect(port);
    await waitUntil(() => proxy.openConnections === 4);
    proxy.randomLoss(0, 60);
    await waitUntil(() => proxy.lossDraws === 3);
    expect(proxy.lossCuts).toBe(0);
    proxy.randomLoss(1, 10);
    expect(proxy.lossCuts).toBe(4);
  });
});
