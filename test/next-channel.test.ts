import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NextChannel } from '../clients/browser/next-channel.js';
import { testCleanup } from './helpers.js';

const cleanup = testCleanup();

/** A page's side of the channel: what it is sent back, and how it was closed. */
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

/** Waits until `received` holds `count` answers (bounded: the channel is loopback). */
async function answers(received: unknown[], count: number): Promise<unknown[]> {
  for (let turns = 0; received.length < count && turns < 500; turns++) await new Promise((resolve) => setTimeout(resolve, 2));
  return received;
}

describe('the loopback channel a page asks over', () => {
  it('answers a question with its subscriber id, takes a notice without an answer, in order', async () => {
    const heard: unknown[] = [];
    const channel = await NextChannel.open((page, id, answer, usedUrl) => {
      heard.push([page, id, answer, usedUrl ?? null]);
      return usedUrl === undefined ? { url: `http://127.0.0.1/poll/${id}`, headers: {}, waitMs: 0 } : undefined;
    });
    cleanup.add(() => channel.close());
    expect(channel.urlFor(3)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/next\?page=3&token=[0-9a-f]{32}$/);
    const { socket, received } = await pageSocket(channel.urlFor(3));
    socket.send(JSON.stringify([7, null]));
    socket.send(JSON.stringify([7, { status: 200, body: '[]' }, 'http://127.0.0.1/poll/7?since=4']));
    socket.send(JSON.stringify([8, { status: 200, body: '[]' }]));
    expect(await answers(received, 2)).toEqual([
      [7, { url: 'http://127.0.0.1/poll/7', headers: {}, waitMs: 0 }],
      [8, { url: 'http://127.0.0.1/poll/8', headers: {}, waitMs: 0 }],
    ]);
    expect(heard).toEqual([
      [3, 7, null, null],
      [3, 7, { status: 200, body: '[]' }, 'http://127.0.0.1/poll/7?since=4'],
      [3, 8, { status: 200, body: '[]' }, null],
    ]);
  });

  it('closes, unanswered, a connection without the token, and one that sends what is not a question', async () => {
    const heard: unknown[] = [];
    const channel = await NextChannel.open((...question) => void heard.push(question));
    cleanup.add(() => channel.close());
    const stranger = await pageSocket(channel.urlFor(0).replace(/token=[0-9a-f]+/, 'token=guess'));
    stranger.socket.send(JSON.stringify([1, null]));
    expect(await stranger.closed).toBe(1008);
    const garbled = await pageSocket(channel.urlFor(0));
    garbled.socket.send('not json');
    expect(await garbled.closed).toBe(1007);
    const shapeless = await pageSocket(channel.urlFor(0));
    shapeless.socket.send(JSON.stringify({ id: 1 }));
    expect(await shapeless.closed).toBe(1008);
    expect(heard).toEqual([]);
  });
});
