import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PageListener, PageChannel } from '../clients/browser/page-channel.js';
import { testCleanup } from './helpers.js';

const cleanup = testCleanup();

/** A page's side of the channel: what it is sent, and how it was closed. */
async function pageSocket(url: string): Promise<{ socket: WebSocket; received: unknown[]; closed: Promise<number> }> {
  const socket = new WebSocket(url);
  cleanup.add(() => socket.terminate());
  const received: unknown[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, closed };
}

/** Waits until `received` holds `count` messages (bounded: the channel is loopback). */
async function messages(received: unknown[], count: number): Promise<unknown[]> {
  for (let turns = 0; received.length < count && turns < 500; turns++) await new Promise((resolve) => setTimeout(resolve, 2));
  return received;
}

/** A listener that writes down what it hears. */
function listening(): { heard: unknown[]; listener: PageListener } {
  const heard: unknown[] = [];
  return {
    heard,
    listener: {
      next: (page, id, answer, usedUrl) => {
        heard.push(['next', page, id, answer, usedUrl ?? null]);
        return usedUrl === undefined ? { url: `http://127.0.0.1/poll/${id}`, headers: {}, waitMs: 0 } : undefined;
      },
      report: (page, events) => void heard.push(['report', page, events]),
      closed: (page) => void heard.push(['closed', page]),
    },
  };
}

describe('the loopback channel between pages and their subscriber thread', () => {
  it('answers a question by subscriber id, takes reports and notices unanswered, all in order; a flush waits for the page', async () => {
    const { heard, listener } = listening();
    const channel = await PageChannel.open(listener);
    cleanup.add(() => channel.close());
    expect(channel.urlFor(3)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/next\?page=3&token=[0-9a-f]{32}$/);
    const { socket, received } = await pageSocket(channel.urlFor(3));
    socket.send(JSON.stringify(['n', 7, null]));
    socket.send(JSON.stringify(['r', [[7, 'open', 1.5]]]));
    socket.send(JSON.stringify(['p', 7, { status: 200, body: '[]' }, 'http://127.0.0.1/poll/7?since=4']));
    socket.send(JSON.stringify(['n', 8, { status: 200, body: '[]' }]));
    expect(await messages(received, 2)).toEqual([
      [7, { url: 'http://127.0.0.1/poll/7', headers: {}, waitMs: 0 }],
      [8, { url: 'http://127.0.0.1/poll/8', headers: {}, waitMs: 0 }],
    ]);
    expect(heard).toEqual([
      ['next', 3, 7, null, null],
      ['report', 3, [[7, 'open', 1.5]]],
      ['next', 3, 7, { status: 200, body: '[]' }, 'http://127.0.0.1/poll/7?since=4'],
      ['next', 3, 8, { status: 200, body: '[]' }, null],
    ]);
    // A flush is answered by the page after what it held: the flush resolves once that has come.
    socket.on('message', (data) => {
      const [kind, n] = JSON.parse(String(data)) as [unknown, number];
      if (kind !== 'flush') return;
      socket.send(JSON.stringify(['r', [[8, 'open', 2.5]]]));
      socket.send(JSON.stringify(['f', n]));
    });
    await channel.flush(3, 10_000);
    expect(heard.at(-1)).toEqual(['report', 3, [[8, 'open', 2.5]]]);
    // A page that is not there flushes at once; one whose socket closes is said to have gone.
    await channel.flush(4, 10_000);
    socket.close();
    for (let turns = 0; heard.at(-1)?.toString() !== 'closed,3' && turns < 500; turns++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(heard.at(-1)).toEqual(['closed', 3]);
  });

  it('closes, unheard, a connection without the token, and one that sends what it does not know', async () => {
    const { heard, listener } = listening();
    const channel = await PageChannel.open(listener);
    cleanup.add(() => channel.close());
    const stranger = await pageSocket(channel.urlFor(0).replace(/token=[0-9a-f]+/, 'token=guess'));
    stranger.socket.send(JSON.stringify(['n', 1, null]));
    expect(await stranger.closed).toBe(1008);
    const garbled = await pageSocket(channel.urlFor(0));
    garbled.socket.send('not json');
    expect(await garbled.closed).toBe(1007);
    const shapeless = await pageSocket(channel.urlFor(1));
    shapeless.socket.send(JSON.stringify({ id: 1 }));
    expect(await shapeless.closed).toBe(1008);
    // Only the two pages that got in are said to have gone; nothing they sent was heard.
    expect(heard.filter((h) => (h as unknown[])[0] !== 'closed')).toEqual([]);
  });
});
