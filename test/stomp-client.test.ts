import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { stompClient } from '../clients/stomp.js';
import type { StompSpec, Subscription } from '../clients/types.js';
import { FrameParser, type StompFrame, serializeFrame } from '../core/stomp-frames.js';
import { clientContext, waitFor } from './helpers.js';

/** A scripted STOMP broker: `onFrame` sees every client frame with the socket to answer on. */
async function broker(onFrame: (frame: StompFrame, socket: WebSocket, raw: string[]) => void): Promise<{ url: string; close(): void; raws: string[][] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const raws: string[][] = [];
  server.on('connection', (socket) => {
    const parser = new FrameParser();
    const raw: string[] = [];
    raws.push(raw);
    socket.on('message', (data) => {
      raw.push(data.toString());
      for (const frame of parser.push(data.toString())) onFrame(frame, socket, raw);
    });
  });
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/stomp`,
    raws,
    close: () => {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}

function spec(url: string, heartbeatMs: number, errorCodes: string[] = []): StompSpec {
  return {
    transport: 'stomp',
    url: () => url,
    headers: {},
    connectHeaders: () => ({ login: 'guest', passcode: 'guest' }),
    destination: '/topic/room',
    subscribeHeaders: (cursor): Record<string, string> => (cursor === null ? {} : { since: String(cursor) }),
    heartbeatMs,
    read: (frame, cursor) => ({ messages: [{ content: frame.body, id: frame.headers['message-id'] ?? '' }], cursor: typeof cursor === 'number' ? cursor + 1 : 1 }),
    errorCode: (frame) => {
      errorCodes.push(frame.headers.message ?? '');
      return frame.headers.message ?? 'ERROR';
    },
  };
}

describe('the STOMP subscriber (clients/stomp.ts)', () => {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  function subscribe(url: string, heartbeatMs: number, connectTimeoutMs = 5000) {
    const contents: string[] = [];
    const errors: string[] = [];
    const subscription: Subscription = stompClient.subscribe(clientContext({ connectTimeoutMs }), spec(url, heartbeatMs), {
      onMessage: (content) => contents.push(content),
      onError: (code) => errors.push(code),
    });
    closers.push(() => subscription.close());
    return { subscription, contents, errors };
  }

  it('connects, subscribes, reads messages split across and packed into WebSocket messages, and resumes after a drop', async () => {
    const frames: StompFrame[] = [];
    const server = await broker((frame, socket) => {
      frames.push(frame);
      if (frame.command === 'CONNECT') socket.send(serializeFrame('CONNECTED', { version: '1.2', 'heart-beat': '0,0' }));
      if (frame.command !== 'SUBSCRIBE') return;
      const message = (id: number, body: string) => serializeFrame('MESSAGE', { destination: '/topic/room', 'message-id': id, subscription: frame.headers.id!, 'content-length': Buffer.byteLength(body) }, body);
      const first = message(1, 'héllo: wörld\0with a NUL');
      // One frame cut in three WebSocket messages, then two frames and a heart-beat EOL in one.
      socket.send(first.slice(0, 5));
      socket.send(first.slice(5, 30));
      socket.send(first.slice(30));
      socket.send(`${message(2, 'second')}\n${message(3, 'a:b\\c')}`);
    });
    closers.push(server.close);
    const { subscription, contents } = subscribe(server.url, 0);
    await subscription.ready;
    await waitFor(() => contents.length === 3, 'three messages');
    expect(contents).toEqual(['héllo: wörld\0with a NUL', 'second', 'a:b\\c']);
    const connect = frames.find((frame) => frame.command === 'CONNECT')!;
    expect(connect.headers).toMatchObject({ 'accept-version': '1.2', 'heart-beat': '0,0', login: 'guest', passcode: 'guest' });
    expect(frames.find((frame) => frame.command === 'SUBSCRIBE')!.headers).toMatchObject({ destination: '/topic/room' });
    expect(frames.find((frame) => frame.command === 'SUBSCRIBE')!.headers.since).toBeUndefined();

    subscription.interrupt();
    await waitFor(() => frames.filter((frame) => frame.command === 'SUBSCRIBE').length === 2, 'a second SUBSCRIBE');
    // The profile's cursor after three messages is 3: the new subscription resumes from it.
    expect(frames.filter((frame) => frame.command === 'SUBSCRIBE')[1]!.headers.since).toBe('3');
  });

  it('sends heart-beats as negotiated, gives up on a server silent for twice its promised interval, and on one that never answers CONNECT', async () => {
    let connects = 0;
    const server = await broker((frame, socket) => {
      // The server promises a heart-beat every 50 ms and wants one every 40; the client offers and wants 60: both ways every 60 ms.
      if (frame.command === 'CONNECT' && ++connects === 1) socket.send(serializeFrame('CONNECTED', { version: '1.2', 'heart-beat': '50,40' }));
    });
    closers.push(server.close);
    const { subscription, errors } = subscribe(server.url, 60, 300);
    await subscription.ready;
    await waitFor(() => errors.includes('STOMP_HEARTBEAT_LOST'), 'the silent server is given up on');
    // The second connection's CONNECT is never answered.
    await waitFor(() => errors.includes('STOMP_CONNECT_TIMEOUT'), 'CONNECT unanswered');
    const eols = server.raws[0]!.filter((raw) => raw === '\n').length;
    // Silence is judged every max(50, 60) = 60 ms and tolerated for 120 ms: at least one EOL was sent before.
    expect(eols).toBeGreaterThanOrEqual(1);
    expect(subscription.stats().disconnects).toBe(1);
    expect(subscription.stats().failedAttempts).toBeGreaterThanOrEqual(1);
  });

  it('counts an ERROR by its code and reconnects', async () => {
    let connects = 0;
    const server = await broker((frame, socket) => {
      if (frame.command === 'CONNECT') {
        connects++;
        socket.send(serializeFrame('CONNECTED', { version: '1.2' }));
      }
      if (frame.command === 'SUBSCRIBE' && connects === 1) socket.send(serializeFrame('ERROR', { message: 'session expired' }, 'log in again'));
    });
    closers.push(server.close);
    const { subscription, errors } = subscribe(server.url, 0);
    await subscription.ready;
    await waitFor(() => connects === 2, 'a reconnect after the ERROR');
    expect(errors[0]).toBe('STOMP_ERROR:session expired');
  });

  it('refuses a malformed frame as STOMP_BAD_FRAME', async () => {
    const server = await broker((frame, socket) => {
      if (frame.command === 'CONNECT') socket.send(serializeFrame('CONNECTED', { version: '1.2' }));
      if (frame.command === 'SUBSCRIBE') socket.send('MESSAGE\nno colon here\n\nbody\0');
    });
    closers.push(server.close);
    const { subscription, errors } = subscribe(server.url, 0);
    await subscription.ready;
    await waitFor(() => errors.length > 0, 'the bad frame');
    expect(errors[0]).toBe('STOMP_BAD_FRAME');
  });

  it("lets the profile send on its session: a frame once subscribed and an answer to each message, counted", async () => {
    const frames: StompFrame[] = [];
    const server = await broker((frame, socket) => {
      frames.push(frame);
      if (frame.command === 'CONNECT') socket.send(serializeFrame('CONNECTED', { version: '1.2' }));
      if (frame.command === 'SEND' && frame.headers.destination === '/app/join') {
        for (const id of [1, 2, 3]) socket.send(serializeFrame('MESSAGE', { destination: '/topic/room', 'message-id': id, subscription: 'sub-0' }, `m${id}`));
      }
    });
    closers.push(server.close);
    const errors: string[] = [];
    const talking: StompSpec = {
      ...spec(server.url, 0),
      open: (send) => send('SEND', { destination: '/app/join' }, 'room'),
      read: (frame, _cursor, send) => {
        send('ACK', { id: frame.headers['message-id'] ?? '' });
        return { messages: [{ content: frame.body }] };
      },
    };
    const contents: string[] = [];
    const subscription = stompClient.subscribe(clientContext(), talking, { onMessage: (content) => contents.push(content), onError: (code) => errors.push(code) });
    closers.push(() => subscription.close());
    await waitFor(() => frames.filter((f) => f.command === 'ACK').length === 3, 'three ACKs');
    expect(frames.map((f) => f.command)).toEqual(['CONNECT', 'SUBSCRIBE', 'SEND', 'ACK', 'ACK', 'ACK']);
    expect(frames[2]).toMatchObject({ headers: { destination: '/app/join' }, body: 'room' });
    expect(frames.slice(3).map((f) => f.headers.id)).toEqual(['1', '2', '3']);
    expect(contents).toEqual(['m1', 'm2', 'm3']);
    expect(subscription.stats().sends).toBe(4);
    expect(errors).toEqual([]);
  });
});
