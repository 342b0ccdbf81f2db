import http from 'node:http';
import net from 'node:net';
import { getEventListeners, once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { nowUs } from '../core/clock.js';
import { MAX_IN_FLIGHT, type ScheduledSend, nextWait, publishOnSchedule } from '../load/publisher.js';
import { referenceProfile } from '../targets/reference.js';
import type { PublishChannel } from '../targets/types.js';
import { referenceTarget } from './helpers.js';
import { FakeLoop, TURN_US, drive } from './support/fake-loop.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** An HTTP server whose answer the test decides; tracks the most TCP connections open at once. */
async function httpServer(answer: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<{ url: string; connections: () => number }> {
  let open = 0;
  let connections = 0;
  const server = http.createServer(answer);
  server.on('connection', (socket: net.Socket) => {
    connections = Math.max(connections, ++open);
    socket.on('close', () => open--);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((resolve) => server.close(resolve)), () => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
}

/** Contract A's publisher (the reference profile's HTTP channel) into room `r`. */
function publisher(url: string, connections = 4, timeoutMs = 2000, headers: Record<string, string> = {}): PublishChannel {
  const channel = referenceProfile.publisher(referenceTarget(url, 'ws', { publishConnections: connections, publishTimeoutMs: timeoutMs, headers }), { rooms: ['room-1'] });
  closers.push(() => channel.close());
  return channel;
}

const schedule = (count: number, startUs: number, intervalUs: number): ScheduledSend[] =>
  Array.from({ length: count }, (_, seq) => ({ seq, room: 0, scheduledUs: startUs + seq * intervalUs, content: `m${seq}` }));

describe('contract A publisher (HTTP)', () => {
  it('posts the message as contract A asks and times the round trip', async () => {
    let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {};
    const { url } = await httpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen = { method: request.method, url: request.url, type: request.headers['content-type'], auth: request.headers.authorization, body };
        setTimeout(() => response.writeHead(201).end('{}'), 50);
      });
    });
    const p = publisher(`${url}/api`, 1, 2000, { authorization: 'Bearer t' });
    const outcome = await p.publish(0, 'hello');
    expect(seen).toEqual({ method: 'POST', url: '/api/messages', type: 'application/json', auth: 'Bearer t', body: '{"chatRoomId":"room-1","content":"hello"}' });
    expect(outcome.errorCode).toBeNull();
    expect(outcome.rttUs).toBeGreaterThanOrEqual(50_000);
    expect(outcome.rttUs).toBeLessThan(150_000);
  });

  it('names each failure by its cause: an HTTP status, a refused connection, a timeout', async () => {
    const { url } = await httpServer((request, response) => {
      if (request.url?.startsWith('/busy')) response.writeHead(503).end();
      else if (request.url?.startsWith('/ok200')) response.writeHead(200).end();
      // anything else is never answered
    });
    expect(await publisher(`${url}/busy`).publish(0, 'x')).toMatchObject({ errorCode: 'HTTP_503' });
    expect(await publisher(`${url}/ok200`).publish(0, 'x')).toMatchObject({ errorCode: 'HTTP_200' });
    const started = nowUs();
    const timedOut = await publisher(`${url}/silent`, 1, 200).publish(0, 'x');
    expect(timedOut).toMatchObject({ errorCode: 'PUBLISH_TIMEOUT' });
    expect(timedOut.rttUs).toBeGreaterThanOrEqual(200_000);
    expect(timedOut.rttUs).toBeLessThan(1_000_000);
    expect(nowUs() - started).toBeLessThan(2_000_000);
    const closed = net.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const refusedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await publisher(`http://127.0.0.1:${refusedPort}`).publish(0, 'x')).toMatchObject({ errorCode: 'ECONNREFUSED' });
  });

  it('uses at most the connections it was given, at once', async () => {
    const answers: http.ServerResponse[] = [];
    const { url, connections } = await httpServer((_request, response) => {
      answers.push(response);
      if (answers.length === 2) setTimeout(() => answers.splice(0).forEach((r) => r.writeHead(201).end()), 50);
      else if (answers.length > 2) response.writeHead(201).end();
    });
    const p = publisher(url, 2, 2000);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => p.publish(0, 'x')));
    expect(outcomes.every((o) => o.errorCode === null)).toBe(true);
    expect(connections()).toBe(2);
  });
});

describe('nextWait: how the publisher waits for its next send', () => {
  it('waits on a timer while the send is more than 1.5 ms off, leaving that last stretch to the loop', () => {
    expect(nextWait(3600, 0, false)).toEqual({ kind: 'timer', ms: 2 });
    expect(nextWait(1501, 5, true)).toEqual({ kind: 'timer', ms: 0 });
    expect(nextWait(1500, 0, false)).toEqual({ kind: 'turn', sleepUs: 0 });
  });

  it('never sleeps on a thread that may stamp arrivals: it turns the loop', () => {
    for (const waitUs of [1500, 1000, 250, 51, 0]) expect(nextWait(waitUs, 0, false)).toEqual({ kind: 'turn', sleepUs: 0 });
    expect(nextWait(1000, 3, false)).toEqual({ kind: 'turn', sleepUs: 0 });
  });

  it('allowed to sleep: sleeps a slice that ends 200 µs early, shorter while answers are awaited', () => {
    expect(nextWait(1500, 0, true)).toEqual({ kind: 'turn', sleepUs: 250 });
    expect(nextWait(300, 0, true)).toEqual({ kind: 'turn', sleepUs: 100 });
    expect(nextWait(250, 0, true)).toEqual({ kind: 'turn', sleepUs: 50 });
    // With sends in flight, a turn at least every 100 µs reads their answers.
    expect(nextWait(1500, 1, true)).toEqual({ kind: 'turn', sleepUs: 100 });
    expect(nextWait(260, 1, true)).toEqual({ kind: 'turn', sleepUs: 60 });
    expect(nextWait(50, 1, true)).toEqual({ kind: 'turn', sleepUs: 0 });
    // A sleep under 50 µs is not worth the call: the rest is spun.
    expect(nextWait(249, 0, true)).toEqual({ kind: 'turn', sleepUs: 0 });
    expect(nextWait(0, 0, true)).toEqual({ kind: 'turn', sleepUs: 0 });
  });
});

describe('publishOnSchedule', () => {
  it('starts each send at its scheduled time, never before, within a millisecond, without spinning between sends', async () => {
    const { url } = await httpServer((_request, response) => response.writeHead(201).end());
    const p = publisher(url);
    await p.publish(0, 'warm');
    const lagsUs: number[] = [];
    const plan = schedule(10, nowUs() + 20_000, 40_000);
    const cpuBefore = process.cpuUsage();
    const wallBefore = nowUs();
    await publishOnSchedule(p, plan, { onSendStart: (seq, actualUs) => lagsUs.push(actualUs - plan[seq]!.scheduledUs), onSendDone: () => {} }, new AbortController().signal);
    const cpu = process.cpuUsage(cpuBefore);
    const busyShare = (cpu.user + cpu.system) / (nowUs() - wallBefore);
    expect(lagsUs).toHaveLength(10);
    expect(Math.min(...lagsUs)).toBeGreaterThanOrEqual(0);
    lagsUs.sort((a, b) => a - b);
    expect(lagsUs[5]).toBeLessThan(1000);
    // Waiting with timers, not a busy loop: far from a whole core over 400 ms.
    expect(busyShare).toBeLessThan(0.5);
  });

  it('with sleepBeforeSend, sleeps through the last stretch before a send instead of spinning, as precisely', async () => {
    // A channel that answers at once: what is left on the thread is the waiting between sends.
    const instant: PublishChannel = { publish: async () => ({ rttUs: 1, errorCode: null }), close: async () => {} };
    // Sends 1.4 ms apart: every wait is inside the stretch a timer is too coarse for.
    const run = async (sleepBeforeSend: boolean): Promise<{ busyShare: number; lagsUs: number[] }> => {
      const plan = schedule(100, nowUs() + 5_000, 1_400);
      const lagsUs: number[] = [];
      const cpuBefore = process.cpuUsage();
      const wallBefore = nowUs();
      await publishOnSchedule(instant, plan, { onSendStart: (seq, actualUs) => lagsUs.push(actualUs - plan[seq]!.scheduledUs), onSendDone: () => {} }, new AbortController().signal, { sleepBeforeSend });
      const cpu = process.cpuUsage(cpuBefore);
      return { busyShare: (cpu.user + cpu.system) / (nowUs() - wallBefore), lagsUs: lagsUs.sort((a, b) => a - b) };
    };
    // Three rounds, alternated: on a machine busy with other work a spinning thread is preempted too,
    // so each mode is judged by its least disturbed round.
    const spinningShares: number[] = [];
    const sleepingShares: number[] = [];
    for (let round = 0; round < 3; round++) {
      spinningShares.push((await run(false)).busyShare);
      const sleeping = await run(true);
      sleepingShares.push(sleeping.busyShare);
      expect(sleeping.lagsUs).toHaveLength(100);
      expect(sleeping.lagsUs[0]).toBeGreaterThanOrEqual(0);
      expect(sleeping.lagsUs[50]).toBeLessThan(1000);
    }
    // Spinning keeps the thread busy the whole time it waits; sleeping in slices does not.
    expect(Math.min(...sleepingShares), `sleeping ${sleepingShares.join(', ')}; spinning ${spinningShares.join(', ')}`).toBeLessThan(0.6 * Math.max(...spinningShares));
  });

  it('sends on schedule, open loop, and never holds more than MAX_IN_FLIGHT unanswered requests', async () => {
    // A server that accepts connections and never answers: every request stays in flight.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => new Promise((resolve) => server.close(resolve)), () => sockets.forEach((s) => s.destroy()));
    const p = publisher(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, 4, 1000);
    const count = MAX_IN_FLIGHT + 200;
    const startUs = nowUs() + 10_000;
    const started: number[] = [];
    const outcomes = new Map<string, number>();
    await publishOnSchedule(p, 
      Array.from({ length: count }, (_, seq) => ({ seq, room: 0, scheduledUs: startUs, content: 'x' })),
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
    expect(outcomes.get('PUBLISH_TIMEOUT')).toBe(MAX_IN_FLIGHT);
  });

  it('frees an in-flight slot when its answer comes: a steady stream never hits the bound', async () => {
    const { url } = await httpServer((_request, response) => response.writeHead(201).end());
    const p = publisher(url, 8);
    const codes = new Map<string, number>();
    // 1,200 sends 0.5 ms apart: more than MAX_IN_FLIGHT in all, never that many at once.
    await publishOnSchedule(p, schedule(MAX_IN_FLIGHT + 176, nowUs() + 10_000, 500), { onSendStart: () => {}, onSendDone: (_s, _r, code) => codes.set(code ?? 'ok', (codes.get(code ?? 'ok') ?? 0) + 1) }, new AbortController().signal);
    expect(codes).toEqual(new Map([['ok', MAX_IN_FLIGHT + 176]]));
  });

  it('stops at once when aborted: later sends never start', async () => {
    const { url } = await httpServer((_request, response) => response.writeHead(201).end());
    const p = publisher(url);
    const controller = new AbortController();
    const started: number[] = [];
    const plan = schedule(20, nowUs() + 10_000, 50_000);
    const running = publishOnSchedule(p, plan, { onSendStart: (seq) => started.push(seq), onSendDone: () => {} }, controller.signal);
    while (started.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const abortedAt = nowUs();
    await running;
    expect(nowUs() - abortedAt).toBeLessThan(100_000);
    expect(started.length).toBeLessThan(5);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(started.length).toBeLessThan(5);
  });

  it('after close, a publish fails with a code instead of throwing', async () => {
    const { url } = await httpServer((_request, response) => response.writeHead(201).end());
    const p = publisher(url, 1, 500);
    await p.close();
    const outcome = await p.publish(0, 'x');
    expect(outcome.errorCode).not.toBeNull();
  });
});

describe('publishOnSchedule on a simulated loop: every wait it chooses', () => {
  /** A channel answering each send `rttUs(seq)` after it starts, on the loop's simulated clock. */
  const channelOn = (loop: FakeLoop, rttUs: (seq: number) => number): PublishChannel => {
    let seq = 0;
    return {
      publish: () => {
        const rtt = rttUs(seq++);
        return new Promise((resolve) => loop.at(loop.nowUs() + rtt, () => resolve({ rttUs: rtt, errorCode: null })));
      },
      close: async () => {},
    };
  };
  const runOn = async (loop: FakeLoop, offsetsUs: number[], rttUs: (seq: number) => number, sleepBeforeSend: boolean, signal = new AbortController().signal) => {
    const startUs = loop.nowUs();
    const plan = offsetsUs.map((offsetUs, seq) => ({ seq, room: 0, scheduledUs: startUs + offsetUs, content: `m${seq}` }));
    const sentAtUs: number[] = [];
    const answered: number[] = [];
    const run = publishOnSchedule(channelOn(loop, rttUs), plan, { onSendStart: (seq, atUs) => (sentAtUs[seq] = atUs - startUs), onSendDone: (seq) => answered.push(seq) }, signal, { sleepBeforeSend, waiter: loop });
    return { run, sentAtUs, answered };
  };

  it('turns the loop (never sleeps) through the last stretch when it may not sleep: each send at its time', async () => {
    const loop = new FakeLoop();
    // The first answer comes just as the second send is due, while the publisher turns the loop for it.
    const { run, sentAtUs, answered } = await runOn(loop, [0, 3000, 3600, 3610], (seq) => (seq === 0 ? 3000 : 100), false);
    await drive(loop, run);
    expect(answered.sort()).toEqual([0, 1, 2, 3]);
    // Timers to 1 ms before each send, then turns of 20 µs that land on it.
    expect(sentAtUs).toEqual([0, 3000, 3600, 3620]);
    expect(loop.sleepsUs).toEqual([]);
    // An answer that came while a turn was pending started no second loop.
    expect(loop.mostPending).toBe(1);
  });

  it('with nothing in flight and sleeping allowed, sleeps slices that end before the send; never a sleep of nothing', async () => {
    const loop = new FakeLoop();
    // Answered at once: once the timers have brought it within 1.5 ms of the next send, nothing is in flight.
    const { run, sentAtUs } = await runOn(loop, [0, 3000, 6000], () => 0, true);
    await drive(loop, run);
    for (const seq of [1, 2]) {
      expect(sentAtUs[seq]).toBeGreaterThanOrEqual(3000 * seq);
      expect(sentAtUs[seq]).toBeLessThanOrEqual(3000 * seq + TURN_US);
    }
    // Each wait: timers to 1 ms before the send, three slices of 250 µs, then under 250 µs left: turned, not slept.
    expect(loop.sleepsUs).toEqual([250, 250, 250, 250, 250, 250]);
  });

  it('with a send in flight, the next send still goes at its time, its answer read within short slices', async () => {
    for (const answerUs of [300, 600]) {
      const loop = new FakeLoop();
      // The next send is 500 µs away while the first is answered before it or after it.
      const { run, sentAtUs, answered } = await runOn(loop, [0, 500], (seq) => (seq === 0 ? answerUs : 10), true);
      await drive(loop, run);
      expect(sentAtUs[1]).toBeGreaterThanOrEqual(500);
      expect(sentAtUs[1]).toBeLessThanOrEqual(500 + TURN_US);
      expect(answered.sort()).toEqual([0, 1]);
      // Slept in slices of at most 100 µs while the answer was awaited, then of up to 250 µs.
      expect(loop.sleepsUs.length).toBeGreaterThan(0);
      expect(Math.max(...loop.sleepsUs)).toBeLessThanOrEqual(answerUs > 500 ? 100 : 250);
      expect(loop.mostPending).toBe(1);
    }
  });

  it('an answer after the last send starts nothing', async () => {
    const loop = new FakeLoop();
    const started: number[] = [];
    const plan = [{ seq: 0, room: 0, scheduledUs: loop.nowUs(), content: 'm0' }];
    const run = publishOnSchedule(channelOn(loop, () => 700), plan, { onSendStart: (seq) => started.push(seq), onSendDone: () => {} }, new AbortController().signal, { sleepBeforeSend: true, waiter: loop });
    await drive(loop, run);
    expect(started).toEqual([0]);
    expect(loop.pending()).toBe(0);
  });

  it('aborted while waiting, on a timer or on a turn, it cancels the wait and leaves no listener on the signal', async () => {
    for (const offsetUs of [50_000, 100]) {
      const loop = new FakeLoop();
      const controller = new AbortController();
      const { run, sentAtUs } = await runOn(loop, [0, offsetUs], () => 0, false, controller.signal);
      // Let it send the first and choose its wait for the second (a timer far off, a turn near).
      for (let step = 0; step < 3; step++) await new Promise((resolve) => setImmediate(resolve));
      expect(loop.pending()).toBe(1);
      controller.abort();
      expect(loop.pending()).toBe(0);
      await drive(loop, run);
      expect(sentAtUs).toHaveLength(1);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    }
  });

  it('aborted while a send is in flight, its answer starts no send, even one long due', async () => {
    const loop = new FakeLoop();
    const controller = new AbortController();
    // Waiting on the timer or the first answer (at 800 µs) for the second send (at 500 µs).
    const { run, sentAtUs, answered } = await runOn(loop, [0, 500], () => 800, true, controller.signal);
    for (let step = 0; step < 3; step++) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await drive(loop, run);
    expect(answered).toEqual([0]);
    expect(sentAtUs).toHaveLength(1);
  });

  it('aborted before it starts (Ctrl-C as the round is set up), sends nothing and returns at once', async () => {
    const loop = new FakeLoop();
    const controller = new AbortController();
    controller.abort();
    const { run, sentAtUs } = await runOn(loop, [0, 100], () => 50, false, controller.signal);
    await drive(loop, run, 10);
    expect(sentAtUs).toEqual([]);
    expect(loop.pending()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('once every send is answered, leaves no listener on the signal a whole run shares', async () => {
    const loop = new FakeLoop();
    const controller = new AbortController();
    const { run } = await runOn(loop, [0, 100, 2000], () => 50, true, controller.signal);
    await drive(loop, run);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
