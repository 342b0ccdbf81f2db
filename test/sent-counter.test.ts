import { describe, expect, it } from 'vitest';
import { SentCounter } from '../load/sent-counter.js';

describe('messages sent over a run', () => {
  it('keeps what finished rounds sent while each new round counts from zero', () => {
    const sent = new SentCounter();
    expect(sent.total).toBe(0);
    const first = { attemptedMessages: 0 };
    sent.follow(first);
    first.attemptedMessages = 3;
    expect(sent.total).toBe(3);
    sent.follow(first); // the same round again changes nothing
    expect(sent.total).toBe(3);
    sent.follow(null); // between rounds
    expect(sent.total).toBe(3);
    const second = { attemptedMessages: 0 };
    sent.follow(second);
    expect(sent.total).toBe(3);
    second.attemptedMessages = 2;
    sent.follow({ attemptedMessages: 0 });
    expect(sent.total).toBe(5);
  });
});
