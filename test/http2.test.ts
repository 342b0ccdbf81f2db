import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayCert } from '../core/throwaway-cert.js';
import { currentTlsTrust, setTlsTrust } from '../core/tls-trust.js';
import type { TransportName } from '../core/transports.js';
import { methodName } from '../output/format.js';
import { clientContext, collect, publish, referenceSpec, referenceTarget, startServer, testCleanup } from './helpers.js';

const cleanup = testCleanup();
const cert = throwawayCert();
const before = currentTlsTrust();
beforeAll(() => setTlsTrust({ insecure: false, ca: cert.certPem }));
afterAll(() => setTlsTrust(before));

/** The reference server on TLS, offering h2 and http/1.1, as `--http2` starts it. */
async function h2Server(): Promise<string> {
  const { app, url } = await startServer({ http2: { key: cert.keyPem, cert: cert.certPem } });
  cleanup.add(() => app.close());
  expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  return url;
}

/** TLS in front of the plain reference server, offering http/1.1 only: a target that does not speak h2. */
async function h1OnlyTlsServer(): Promise<string> {
  const { app, url } = await startServer();
  cleanup.add(() => app.close());
  const upstreamPort = Number(new URL(url).port);
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: cert.keyPem, cert: cert.certPem, ALPNProtocols: ['http/1.1'] }, (socket) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('the throwaway certificate', () => {
  it('names 127.0.0.1 and localhost, is valid now, is signed by its own key, and is trusted only when given', async () => {
    const x509 = new X509Certificate(cert.certPem);
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('10.0.0.1')).toBeUndefined();
    expect(new Date(x509.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(x509.validTo).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(throwawayCert().certPem).not.toBe(cert.certPem);
    const url = new URL(await h2Server());
    const handshake = (options: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: Number(url.port), ALPNProtocols: ['h2'], ...options }, () => {
          resolve(`ok ${socket.alpnProtocol}`);
          socket.destroy();
        });
        socket.on('error', (error: Error & { code?: string }) => resolve(error.code ?? 'error'));
      });
    expect(await handshake({ ca: cert.certPem })).toBe('ok h2');
    expect(await handshake({})).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });
});

describe('SSE and long polling over HTTP/2', () => {
  for (const transport of ['sse', 'long-polling'] as const satisfies readonly TransportName[]) {
    it(`${transport}: many messages on one h2 session, in order, then resumed across a dropped connection`, async () => {
      const url = await h2Server();
      const room = `h2-${transport}`;
      const target = referenceTarget(url, transport, { pollTimeoutMs: 2000 });
      const { received, subscription, until } = collect(transport, clientContext({ http2: true }), referenceSpec(target, room));
      cleanup.add(() => subscription.close());
      await subscription.ready;
      expect(subscription.stats().protocol).toBe('h2');
      for (let i = 1; i <= 20; i++) await publish(url, room, `m${i}`);
      await until((r) => r.contents.length >= 20, '20 messages');
      subscription.interrupt();
      for (let i = 21; i <= 25; i++) await publish(url, room, `m${i}`);
      await until((r) => r.contents.length >= 25, '25 messages after the drop');
      expect(received.contents).toEqual(Array.from({ length: 25 }, (_, i) => `m${i + 1}`));
      expect(subscription.stats().reconnects).toBeGreaterThanOrEqual(1);
      expect(subscription.stats().protocol).toBe('h2');
    });

    it(`${transport}: over HTTP/1.1 where the server does not offer h2, and without --http2`, async () => {
      for (const [url, http2] of [[await h1OnlyTlsServer(), true], [await h2Server(), false]] as const) {
        const room = `h1-${transport}-${http2}`;
        const target = referenceTarget(url, transport, { pollTimeoutMs: 2000 });
        // Twice: the first learns the server's answer to the offer, the second goes straight to HTTP/1.1.
        for (const round of [1, 2]) {
          const { received, subscription, until } = collect(transport, clientContext({ http2 }), referenceSpec(target, `${room}-${round}`));
          cleanup.add(() => subscription.close());
          await subscription.ready;
          expect(subscription.stats().protocol, `${url} http2=${http2} round ${round}`).toBe('http/1.1');
          await publish(url, `${room}-${round}`, 'one');
          await until((r) => r.contents.length === 1, 'one message');
          expect(received.contents).toEqual(['one']);
          expect(received.errors).toEqual([]);
        }
      }
    });
  }
});

describe('the method name with --http2', () => {
  const named = (http2: boolean, protocols?: Record<string, number>) =>
    methodName({ transport: 'sse', config: { http2 }, state: 'completed', connections: { subscribers: 10, reconnects: 0, gaps: 0, ...(protocols ? { protocols } : {}) } });
  it('says what the subscribers got, and nothing without --http2 or without TLS', () => {
    expect(named(true, { h2: 10 })).toBe('SSE over h2');
    expect(named(true, { 'http/1.1': 10 })).toBe('SSE over HTTP/1.1');
    expect(named(true, { h2: 7, 'http/1.1': 3 })).toBe('SSE (h2 7 of 10)');
    expect(named(false, { 'http/1.1': 10 })).toBe('SSE');
    expect(named(true)).toBe('SSE');
  });
});
