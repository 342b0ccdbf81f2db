import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * RSS is a poor leak detector: V8 grows its heap lazily and the allocator keeps freed pages, so a
 * generator that retains nothing can still show a rising RSS for an hour. What a leak really is, is
 * memory a full GC cannot free. Node exposes `gc` only with `--expose-gc`; setting the flag at run
 * time and reading `gc` from a fresh context gives the same function without asking the user for a
 * flag. The pause is one full GC of this thread, so it is only called between measured rounds.
 */
let collect: (() => void) | null = null;

/**
 * One full GC of this thread's isolate, then what its heap uses and what it holds resident. The two
 * differ by the pages V8 keeps committed though nothing lives in them; the process's RSS minus every
 * isolate's resident heap is what lives outside V8's heap (the allocator's arenas, buffers, code of
 * the binary), which is where a native leak would show.
 */
export function heapAfterGc(): HeapAfterGc {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  const stats = getHeapStatistics();
  return { usedBytes: stats.used_heap_size, residentBytes: stats.total_physical_size };
}

/**
 * Runs `gcs` with V8 compacting every page in the full GCs it makes, then restores the default.
 *
 * A regular full GC moves the objects out of a page only when most of it is free (V8's heuristics
 * leave pages up to about 70% free in place), so a long-running process whose objects die here and
 * there keeps more and more half-empty pages resident: in long soaks the generator's resident heap
 * after GC grew several times faster than the objects in it, and that growth was read as the
 * generator's memory trend. Compacting in the soak's GC between rounds (nothing in flight) hands
 * those pages back.
 * V8's flags are process-wide, so the workers' GCs run within `gcs` compact too; a GC that V8 starts
 * meanwhile on its own compacts as well, which costs a longer pause but changes nothing measured.
 */
export async function compacting<T>(gcs: () => Promise<T>): Promise<T> {
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    return await gcs();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

export interface HeapAfterGc {
  /** Bytes of live objects after the GC. */
  readonly usedBytes: number;
  /** Bytes of the isolate's heap resident in memory after the GC (V8's `total_physical_size`). */
  readonly residentBytes: number;
}
