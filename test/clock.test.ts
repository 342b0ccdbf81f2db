import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nowUs } from '../core/clock.js';

describe('nowUs', () => {
  it('is whole microseconds and never goes backwards', () => {
    let previous = nowUs();
    for (let i = 0; i < 10_000; i++) {
      const now = nowUs();
      expect(Number.isInteger(now)).toBe(true);
      expect(now).toBeGreaterThanOrEqual(previous);
      previous = now;
    }
  });

  it('is comparable across processes: a child reads a time between two parent readings', () => {
    for (let i = 0; i < 3; i++) {
      const before = nowUs();
      const childUs = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.hrtime.bigint() / 1000n))']).toString());
      const after = nowUs();
      expect(childUs).toBeGreaterThanOrEqual(before);
      expect(childUs).toBeLessThanOrEqual(after);
    }
  });

  it('is comparable across worker threads', async () => {
    const before = nowUs();
    const worker = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.postMessage(String(process.hrtime.bigint() / 1000n));', { eval: true });
    const [workerText] = (await once(worker, 'message')) as [string];
    const after = nowUs();
    await worker.terminate();
    expect(Number(workerText)).toBeGreaterThanOrEqual(before);
    expect(Number(workerText)).toBeLessThanOrEqual(after);
  });
});
