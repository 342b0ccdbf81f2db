import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryState } from '../clients/delivery.js';
import { type ConnectionCallbacks, ConnectionLoop, connectedCount, reconnectDelayMs, subscriptionOf } from '../clients/reconnect.js';
import { cursorAfterGap } from '../targets/reference.js';

const policy = { baseMs: 100, maxMs: 5000 };

describe('reconnectDelayMs', () => {
  it('waits between half and all of min(max, base x 2^attempt)', () => {
    for (const [attempt, ceilingMs] of [[0, 100], [1, 200], [2, 400], [5, 3200], [6, 5000], [30, 5000], [1000, 5000]] as const) {
      expect(reconnectDelayMs(policy, attempt, () => 0), `attempt ${attempt}`).toBe(ceilingMs / 2);
      expect(reconnectDelayMs(policy, attempt, () => 0.5), `attempt ${attempt}`).toBe(ceilingMs * 0.75);
      expect(reconnectDelayMs(policy, attempt, () => 0.999_999), `attempt ${attempt}`).toBeLessThan(ceilingMs);
      expect(reconnectDelayMs(policy, attempt, () => 0.999_999), `attempt ${attempt}`).toBeGreaterThan(ceilingMs * 0.99);
    }
    expect(reconnectDelayMs({ baseMs: 10, maxMs: 15 }, 1, () => 0)).toBe(7.5);
  });

  it('resets the cursor to just before the first id a gap says is gone', () => {
    expect(cursorAfterGap(41)).toBe(40);
    expect(cursorAfterGap(1)).toBe(0);
    expect(cursorAfterGap(0)).toBe(0);
  });
});

/** A transport whose connections the test opens, drops and fails by hand. */
function fakeTransport() {
  const attempts: ConnectionCallbacks[] = [];
  const stopped: number[] = [];
  const errors: string[] = [];
  const loop = new ConnectionLoop(policy, () => 0, (callbacks) => {
    const index = attempts.push(callbacks) - 1;
    return { stop: () => stopped.push(index) };
  }, (code) => errors.push(code));
  return { loop, attempts, stopped, errors };
}

describe('ConnectionLoop', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('reconnects after a loss with backoff that grows per failed attempt and resets once connected', async () => {
    const { loop, attempts, errors } = fakeTransport();
    attempts[0]!.opened();
    await loop.ready;
    expect(loop.connected).toBe(true);

    attempts[0]!.lost('WS_CLOSE_1006');
    expect(loop).toMatchObject({ connected: false, disconnects: 1, reconnects: 0 });
    // random() = 0: half the ceiling. Attempt 0 waits 50 ms.
    vi.advanceTimersByTime(49);
    expect(attempts).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(attempts).toHaveLength(2);
    attempts[1]!.lost('ECONNREFUSED');
    expect(loop.failedAttempts).toBe(1);
    // Attempt 1 waits 100 ms, attempt 2 waits 200 ms.
    vi.advanceTimersByTime(99);
    expect(attempts).toHaveLength(2);
    vi.advanceTimersByTime(1);
    attempts[2]!.lost('ECONNREFUSED');
    vi.advanceTimersByTime(199);
    expect(attempts).toHaveLength(3);
    vi.advanceTimersByTime(1);
    attempts[3]!.opened();
    expect(loop).toMatchObject({ connected: true, reconnects: 1, disconnects: 1, failedAttempts: 2 });
    // Connected again: the next loss starts from the first wait.
    attempts[3]!.lost('WS_CLOSE_1006');
    vi.advanceTimersByTime(50);
    expect(attempts).toHaveLength(5);
    expect(errors).toEqual(['WS_CLOSE_1006', 'ECONNREFUSED', 'ECONNREFUSED', 'WS_CLOSE_1006']);
  });

  it("keeps the thread's count of connected loops through opens, losses, reconnects and closes", async () => {
    const base = connectedCount();
    const a = fakeTransport();
    const b = fakeTransport();
    a.attempts[0]!.opened();
    a.attempts[0]!.opened(); // a transport that signals twice counts once
    b.attempts[0]!.opened();
    await Promise.all([a.loop.ready, b.loop.ready]);
    expect(connectedCount() - base).toBe(2);
    a.attempts[0]!.lost('WS_CLOSE_1006');
    a.attempts[0]!.lost('WS_CLOSE_1006'); // and loses once
    expect(connectedCount() - base).toBe(1);
    vi.advanceTimersByTime(50);
    a.attempts[1]!.lost('ECONNREFUSED'); // a failed attempt was never connected
    expect(connectedCount() - base).toBe(1);
    vi.advanceTimersByTime(100);
    a.attempts[2]!.opened();
    expect(connectedCount() - base).toBe(2);
    b.loop.close();
    b.loop.close();
    expect(connectedCount() - base).toBe(1);
    a.attempts[2]!.lost('WS_CLOSE_1006');
    a.loop.close(); // closed while waiting to reconnect: nothing left to take off
    expect(connectedCount() - base).toBe(0);
  });

  it('treats a failed first connection as a setup error: ready rejects with the code, no retry', async () => {
    const { loop, attempts } = fakeTransport();
    attempts[0]!.lost('HTTP_404');
    await expect(loop.ready).rejects.toMatchObject({ code: 'HTTP_404' });
    vi.advanceTimersByTime(60_000);
    expect(attempts).toHaveLength(1);
    expect(loop.failedAttempts).toBe(0);
  });

  it('counts each connection once, whatever its transport reports twice', () => {
    const { loop, attempts } = fakeTransport();
    attempts[0]!.opened();
    attempts[0]!.opened();
    attempts[0]!.lost('A');
    attempts[0]!.lost('B');
    attempts[0]!.opened();
    expect(loop).toMatchObject({ disconnects: 1, reconnects: 0, connected: false });
  });

  it('close() stops the current connection and any pending reconnect, and rejects a ready never reached', async () => {
    const { loop, stopped } = fakeTransport();
    loop.close();
    await expect(loop.ready).rejects.toMatchObject({ code: 'CLOSED' });
    expect(stopped).toEqual([0]);
    const second = fakeTransport();
    second.attempts[0]!.opened();
    second.attempts[0]!.lost('X');
    second.loop.close();
    vi.advanceTimersByTime(60_000);
    expect(second.attempts).toHaveLength(1);
    expect(second.loop.connected).toBe(false);
  });

  it('interrupt() drops the current connection as a network failure would', () => {
    const { loop, attempts, stopped } = fakeTransport();
    attempts[0]!.opened();
    loop.interrupt();
    expect(stopped).toEqual([0]);
  });

  it('exposes its counters and the transport cursor as subscription stats', async () => {
    const { loop, attempts } = fakeTransport();
    attempts[0]!.opened();
    const state = new DeliveryState({ onMessage: () => {} });
    state.deliver({ messages: [], gap: { from: 3, to: 4 }, cursor: 41 }, 0);
    state.deliver({ messages: [], gap: { from: 6, to: 7 } }, 0);
    const subscription = subscriptionOf(loop, state);
    expect(subscription.stats()).toMatchObject({ connected: true, reconnects: 0, disconnects: 0, failedAttempts: 0, gaps: 2, cursor: 41 });
    expect(subscription.stats().openedUs).toBeGreaterThan(0);
    await subscription.close();
    expect(subscription.stats().connected).toBe(false);
  });
});
