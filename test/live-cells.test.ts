import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { LiveCells } from '../load/worker/live-cells.js';
import { waitFor } from './helpers.js';

describe('LiveCells: a worker thread\'s live counters in shared memory', () => {
  it('keeps the longest pause until it is taken, then starts over', () => {
    const cells = new LiveCells();
    expect(cells.takePauseMaxUs()).toBe(0);
    cells.notePause(300);
    cells.notePause(1200.4);
    cells.notePause(700);
    expect(cells.takePauseMaxUs()).toBe(1200);
    expect(cells.takePauseMaxUs()).toBe(0);
    cells.notePause(-5);
    cells.notePause(Number.MAX_SAFE_INTEGER);
    expect(cells.takePauseMaxUs()).toBe(0x7fffffff);
  });

  it('shows what another thread wrote without a message from it', async () => {
    const cells = new LiveCells();
    // The thread writes, then waits on a flag of its own buffer forever: it posts nothing and
    // cannot answer one, so whatever is read here came through the shared memory.
    const source = `
      const { workerData } = require('node:worker_threads');
      const counters = new Float64Array(workerData.buffer, 0, 2);
      const pause = new Int32Array(workerData.buffer, 16, 1);
      counters[0] = 42;
      counters[1] = 5_000_000_123;
      Atomics.store(pause, 0, 850);
      Atomics.store(new Int32Array(workerData.done), 0, 1);
      Atomics.wait(new Int32Array(workerData.done), 0, 1);
    `;
    const done = new SharedArrayBuffer(4);
    const worker = new Worker(source, { eval: true, workerData: { buffer: cells.buffer, done } });
    try {
      const flag = new Int32Array(done);
      await waitFor(() => Atomics.load(flag, 0) === 1, 'the thread to write its counters');
      expect(cells.connected).toBe(42);
      // Past 2^32: a soak's arrivals count does not wrap.
      expect(cells.arrivals).toBe(5_000_000_123);
      expect(cells.takePauseMaxUs()).toBe(850);
    } finally {
      await worker.terminate();
    }
  });
});
