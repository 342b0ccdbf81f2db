import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { programPath } from '../../core/entry-points.js';
import type { RunSummary } from '../../core/result.js';

/**
 * Runs the built CLI as a user would. Each rtbench is started as the leader of its own process
 * group, so the servers and proxy it starts share that group: after every test, whatever is still
 * running from it (a test that failed or timed out half way) is killed as a group, and no later test
 * runs beside a leftover rtbench.
 */
export const CLI = programPath('cli');

export interface CliRun {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartedCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
  stderrSoFar(): string;
}

const running = new Set<StartedCli>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

afterEach(async () => {
  const left = [...running];
  running.clear();
  for (const run of left) killGroup(run.child);
  await Promise.all(left.map((run) => run.done));
});

export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; shellPrefix?: string } = {}): StartedCli {
  const command = options.shellPrefix
    ? spawn('/bin/sh', ['-c', `${options.shellPrefix} exec "$0" "$@"`, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: options.env ?? process.env })
    : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  command.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  command.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started: StartedCli = {
    child: command,
    done: new Promise<CliRun>((resolve) =>
      command.on('close', (code, signal) => {
        // The leader is gone; anything of its group still alive (a stuck child) goes with it.
        killGroup(command);
        running.delete(started);
        resolve({ code, signal, stdout, stderr });
      }),
    ),
    stderrSoFar: () => stderr,
  };
  running.add(started);
  return started;
}

export const runCli = (args: readonly string[], options?: Parameters<typeof startCli>[1]): Promise<CliRun> => startCli(args, options).done;

/** Runs the CLI with `--json` and returns the summary it printed; fails the test with its stderr otherwise. */
export async function runJson(args: readonly string[], expectedCode = 0): Promise<RunSummary> {
  const { code, stdout, stderr } = await runCli([...args, '--json']);
  expect(code, stderr).toBe(expectedCode);
  return JSON.parse(stdout) as RunSummary;
}

/** Resolves when the run's stderr matches `pattern` (bounded: rejects after 30 s with what it printed). */
export function waitForStderr(run: StartedCli, pattern: RegExp, limitMs = 30_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}: ${run.stderrSoFar()}`)), limitMs);
    const check = (): void => {
      if (pattern.test(run.stderrSoFar())) {
        clearTimeout(timer);
        run.child.stderr!.off('data', check);
        resolve();
      }
    };
    run.child.stderr!.on('data', check);
    check();
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A temporary folder for this test file's run folders, removed when the file is done. */
export function outRoot(): (name: string) => string {
  const root = mkdtempSync(join(tmpdir(), 'rtbench-test-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return (name) => join(root, name);
}

export function onlyRunFolder(dir: string): string {
  const folders = readdirSync(dir);
  expect(folders).toHaveLength(1);
  return join(dir, folders[0]!);
}
