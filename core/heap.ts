import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Heap still in use after a full garbage collection, in bytes, for the calling thread's isolate.
 *
 * RSS is a poor leak detector: V8 grows its heap lazily and the allocator keeps freed pages, so a
 * generator that retains nothing can still show a rising RSS for an hour. What a leak really is, is
 * memory a full GC cannot free. Node exposes `gc` only with `--expose-gc`; setting the flag at run
 * time and reading `gc` from a fresh context gives the same function without asking the user for a
 * flag. The pause is one full GC of this thread, so it is only called between measured rounds.
 */
let collect: (() => void) | null = null;

export function heapAfterGcBytes(): number {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  return getHeapStatistics().used_heap_size;
}
