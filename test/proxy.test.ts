import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { nowUs } from '../bench/clock.js';
import { DelayProxy, type DelayProxyOptions } from '../bench/proxy.js';

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
  await once(socket, 'connect');
  closers.push(() => void socket.destroy());
  return socket;
}

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
  it('delays each direction by the one-way delay: an echo takes at least two delays', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const { port } = await proxyTo(echo, { delayMs: 50 });
    const client = await connect(port);
    for (let i = 0; i < 3; i++) {
      const sentUs = nowUs();
      const answer = receive(client, 4);
      client.write('ping');
      const { atUs, data } = await answer;
      expect(data.toString()).toBe('ping');
      expect(atUs - sentUs).toBeGreaterThanOrEqual(100_000);
      expect(atUs - sentUs).toBeLessThan(1_000_000);
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
    const client = await connect(port);
    const closed = once(client, 'close');
    expect(proxy.cutAll()).toBe(1);
    await closed;
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
    expect(atUs - pushedUs).toBeLessThan(100_000);
  });
});
