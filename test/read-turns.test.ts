import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { nowUs } from '../core/clock.js';
import { flushReads, ownWaitUs, readsTakenSoFarHandled, takeRead } from '../clients/read-turns.js';

/** Resolves once the current turn's setImmediate callbacks (the read layer's first slice of handling) have run. */
const afterTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
/** Resolves once `done()` holds, checking after each turn (bounded). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !done(); turn++) await afterTurn();
  expect(done()).toBe(true);
}
/**
 * Resolves after the thread has waited for I/O (a timer's wait in epoll): a test runner can keep
 * the loop busy through a short timer, so the wait is tried again until the loop's idle time grew.
 */
async function waitForIo(): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const idleMs = performance.eventLoopUtilization().idle;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (performance.eventLoopUtilization().idle > idleMs) return;
  }
  throw new Error('the loop never waited for I/O');
}
/** Busy-waits (the thread does not wait for I/O meanwhile), bounded by `us`. */
function spin(us: number): void {
  const until = nowUs() + us;
  while (nowUs() < until);
}

describe('reads stamped as they come off the socket', () => {
  it('stamps every read of a turn before any is handled, then hands them on in order with their bytes', async () => {
    const shared = Buffer.alloc(16);
    let seen: Array<{ text: string; receivedUs: number; handledUs: number }> = [];
    const sink = (data: Buffer, start: number, end: number, receivedUs: number): void => {
      // Each handler is slow: were stamps taken here, the last would be 200 x 20 µs late.
      spin(20);
      seen.push({ text: data.toString('latin1', start, end), receivedUs, handledUs: nowUs() });
    };
    // Two rounds first, so the reads are timed compiled, as a generator's are after its warm-up.
    for (let round = 0; round < 3; round++) {
      seen = [];
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          for (let i = 0; i < 200; i++) {
            // The caller's buffer is reused by every read, as the sockets' shared read buffer is.
            const text = `m${i}`;
            shared.write(text, 'latin1');
            takeRead(sink, shared, text.length);
          }
          expect(seen).toHaveLength(0);
          resolve();
        }),
      );
      await until(() => seen.length === 200);
    }
    expect(seen.map((s) => s.text)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    const firstUs = seen[0]!.receivedUs;
    const lastUs = seen.at(-1)!.receivedUs;
    // The reads alone: far below the 4 ms of handling that followed them.
    expect(lastUs - firstUs).toBeLessThan(1_000);
    expect(seen.at(-1)!.handledUs - seen[0]!.handledUs).toBeGreaterThanOrEqual(199 * 20);
  });

  it('hands held reads on at once when asked (a socket closing, a step ending)', () => {
    const got: string[] = [];
    takeRead((data, start, end) => got.push(data.toString('latin1', start, end)), Buffer.from('abc'), 2);
    expect(got).toEqual([]);
    flushReads();
    expect(got).toEqual(['ab']);
    flushReads();
    expect(got).toEqual(['ab']);
  });

  it("bounds a stamp by the turn's earlier reads, and by the previous turn's work when the thread did not wait for I/O in between", async () => {
    const bounds: number[] = [];
    const sink = (_data: Buffer, _start: number, _end: number, receivedUs: number): void => {
      bounds.push(ownWaitUs(receivedUs));
      spin(3_000);
    };
    // A turn after a wait for I/O: its first read is bounded by nothing before it.
    await waitForIo();
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        takeRead(sink, Buffer.from('a'), 1);
        resolve();
      }),
    );
    // The next turn follows at once (immediates keep the loop from waiting): its bytes may have
    // waited behind the 3 ms the previous turn's handling took.
    await new Promise<void>((resolve) =>
      setImmediate(() =>
        setImmediate(() => {
          takeRead(sink, Buffer.from('b'), 1);
          resolve();
        }),
      ),
    );
    await afterTurn();
    expect(bounds).toHaveLength(2);
    expect(bounds[0]).toBeLessThan(1_000);
    expect(bounds[1]).toBeGreaterThanOrEqual(3_000);
    // A wait for I/O in between starts the window over.
    await waitForIo();
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        takeRead(sink, Buffer.from('c'), 1);
        resolve();
      }),
    );
    await afterTurn();
    expect(bounds[2]).toBeLessThan(1_000);
  });

  it('keeps what it holds bounded: a turn that reads more than its limit is handled as it goes', () => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    let handled = 0;
    for (let i = 0; i < 100; i++) takeRead(() => handled++, chunk, chunk.length);
    // 6.4 MiB read in one turn: at least the first 4 MiB were handed on before the turn ended.
    expect(handled).toBeGreaterThanOrEqual(64);
    flushReads();
    expect(handled).toBe(100);
  });

  it('tells when the reads taken so far are handled, still reading between slices meanwhile', async () => {
    const handledAt: Array<{ text: string; handledUs: number }> = [];
    const sink = (data: Buffer, start: number, end: number): void => {
      spin(1_000);
      handledAt.push({ text: data.toString('latin1', start, end), handledUs: nowUs() });
    };
    await waitForIo();
    let readLateUs = -1;
    let doneUs = -1;
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        for (let i = 0; i < 5; i++) takeRead(sink, Buffer.from(`a${i}`), 2);
        void readsTakenSoFarHandled().then(() => (doneUs = nowUs()));
        // A read while the first five are being handled: taken at the next poll, not after all five.
        setImmediate(() => {
          readLateUs = nowUs();
          takeRead(sink, Buffer.from('b0'), 2);
        });
        resolve();
      }),
    );
    await until(() => handledAt.length === 6);
    const fifth = handledAt.find((h) => h.text === 'a4')!;
    expect(doneUs).toBeGreaterThanOrEqual(fifth.handledUs);
    expect(handledAt.map((h) => h.text)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0']);
    // Read after one handling (1 ms), not after five of them.
    expect(readLateUs).toBeLessThan(fifth.handledUs);
    await readsTakenSoFarHandled();
  });
});
