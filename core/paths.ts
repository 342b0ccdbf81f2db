import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes (servers, the delay proxy) are always started from the compiled `dist/` tree, so
 * the same path works whether the caller runs from `dist/` or from sources under vitest.
 */
function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`rtbench: cannot find the package root above ${start}`);
    dir = parent;
  }
}

export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** Absolute path of a compiled file under dist/; programs are named in core/entry-points.ts. */
export function distEntry(relative: string): string {
  return join(packageRoot, 'dist', relative);
}
