import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** The longest a test's load child lives, whatever happens to the test. */
const LIFETIME_MS = 60_000;

/**
 * Source of a loop that keeps one thread busy until its lifetime is over or the process that started
 * it is gone (a test runner killed mid-test leaves no spinner behind).
 */
function spinSource(): string {
  return `const end = Date.now() + ${LIFETIME_MS}; const parent = process.ppid; let look = 0;
while (Date.now() < end) { if (Date.now() >= look) { if (process.ppid !== parent) break; look = Date.now() + 100; } }`;
}

export type LoadKind = 'busy' | 'idle';

/**
 * Starts a child process that spins (one thread busy, plus `busyWorkers` worker threads) or idles,
 * optionally pinned to one CPU with taskset; `cleanup` kills it after the test. An idle child ends when
 * its standard input closes (its parent is gone); every child ends after a minute at the latest.
 */
export async function loadChild(kind: LoadKind, cleanup: { add(step: () => unknown): void }, options: { cpu?: number; busyWorkers?: number } = {}): Promise<number> {
  const workers = `for (let w = 0; w < ${options.busyWorkers ?? 0}; w++) new (require('worker_threads').Worker)(${JSON.stringify(spinSource())}, { eval: true });`;
  const code = kind === 'busy'
    ? `${workers} ${spinSource()} process.exit(0);`
    : `setTimeout(() => process.exit(0), ${LIFETIME_MS}); process.stdin.on('end', () => process.exit(0)).resume();`;
  const argv = [process.execPath, '-e', code];
  const child = options.cpu === undefined ? spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] }) : spawn('taskset', ['-c', String(options.cpu), ...argv], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin!.on('error', () => {});
  await once(child, 'spawn');
  cleanup.add(async () => {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  });
  return child.pid!;
}
