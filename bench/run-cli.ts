import { spawn } from 'node:child_process';
import type { RunSummary } from '../core/result.js';
import { programPath } from '../core/entry-points.js';

/** Runs the rtbench CLI with `--json --quiet --out folder` and returns the summary it printed. */
export function rtbench(args: readonly string[], folder: string): Promise<RunSummary> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [programPath('cli'), ...args, '--json', '--quiet', '--out', folder], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => {
      try {
        resolvePromise(JSON.parse(stdout) as RunSummary);
      } catch {
        reject(new Error(`rtbench ${args.join(' ')} exited ${code} without a summary`));
      }
    });
  });
}
