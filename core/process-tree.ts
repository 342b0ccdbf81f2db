import { readFileSync, readdirSync } from 'node:fs';

/**
 * A process and its descendants (nginx's master and workers, a browser's renderers), from /proc's
 * children lists; the pid alone where those cannot be read. Every thread's list is read: a child
 * started from another thread than the main one (a worker thread's browser, Chromium's launcher
 * thread) is listed under that thread only.
 */
export function withDescendants(pid: number): number[] {
  const found = [pid];
  const seen = new Set(found);
  for (let i = 0; i < found.length && found.length < 4096; i++) {
    const parent = found[i] as number;
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue; // Gone, or no /proc here: what was found stands.
    }
    for (const tid of threads) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${tid}/children`, 'utf8').trim();
      } catch {
        // The thread ended, or this kernel has no children lists.
      }
      for (const child of children ? children.split(/\s+/).map(Number) : []) {
        if (!seen.has(child)) {
          seen.add(child);
          found.push(child);
        }
      }
    }
  }
  return found;
}
