import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { nowUs } from '../bench/clock.js';
import { MAX_IN_FLIGHT, Publisher } from '../bench/publisher.js';

describe('Publisher', () => {
  it('sends on schedule, open loop, and never holds more than MAX_IN_FLIGHT unanswered requests', async () => {
    // A server that accepts connections and never answers: every request stays in flight.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const publisher = new Publisher(url, {}, 4, 1000);
    try {
      const count = MAX_IN_FLIGHT + 200;
      const startUs = nowUs() + 10_000;
      const started: number[] = [];
      const outcomes = new Map<string, number>();
      await publisher.run(
        Array.from({ length: count }, (_, seq) => ({ seq, chatRoomId: 'r', scheduledUs: startUs, content: 'x' })),
        {
          onSendStart: (_seq, actualUs) => started.push(actualUs),
          onSendDone: (_seq, _rttUs, code) => outcomes.set(code ?? 'ok', (outcomes.get(code ?? 'ok') ?? 0) + 1),
        },
        new AbortController().signal,
      );
      // Every send started at its time (none waited for an answer), none before it.
      expect(started).toHaveLength(count);
      expect(Math.min(...started)).toBeGreaterThanOrEqual(startUs);
      expect(outcomes.get('GENERATOR_BACKPRESSURE')).toBe(200);
      expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(count);
    } finally {
      await publisher.close().catch(() => {});
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
