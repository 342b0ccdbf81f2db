import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RtbError } from '../core/errors.js';

/**
 * A helper process (reference server, delay proxy) that announces itself with one JSON line on
 * standard output. Every child is tracked so that no exit path of rtbench, Ctrl-C included, leaves
 * one running; the children also exit by themselves when their standard input closes.
 */
export interface ChildHandle {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends, for whatever reason. */
  readonly exited: Promise<string>;
  /** Sends one command line on the child's standard input. */
  send(line: string): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}
process.on('exit', killAllNow);

export async function startChild(name: string, entry: string, args: readonly string[], startTimeoutMs = 10_000, env: Readonly<Record<string, string>> = {}): Promise<ChildHandle> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(child);
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4000);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? String(code));
    });
  });
  child.stdin?.on('error', () => {}); // a child that already died must not crash the harness

  const announced = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(`did not announce its URL within ${startTimeoutMs} ms`), startTimeoutMs);
    const fail = (why: string): void => {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new RtbError('RTB_ERR_CHILD_START', `${name} ${why}${stderrTail ? `:\n${stderrTail.trim()}` : ''}`));
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(line) as { url?: unknown; pid?: unknown };
        if (typeof parsed.url !== 'string') throw new Error('no url');
        resolve({ url: parsed.url, pid: typeof parsed.pid === 'number' ? parsed.pid : child.pid ?? -1 });
      } catch {
        fail(`printed ${JSON.stringify(line.slice(0, 200))} instead of a JSON line with its url`);
      }
    });
    void exited.then((how) => fail(`exited (${how}) before it was ready`));
    child.once('error', (error) => fail(`could not start: ${error.message}`));
  });

  return {
    name,
    url: announced.url,
    pid: announced.pid,
    exited,
    send(line: string) {
      if (child.stdin?.writable) child.stdin.write(`${line}\n`);
    },
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
