import { describe, expect, it } from 'vitest';
import { getHeapSpaceStatistics } from 'node:v8';
import { compacting, heapAfterGc } from '../core/heap.js';

/** Old space's resident bytes beyond what its objects use. */
function oldSpaceSlackBytes(): number {
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!;
  return old.physical_space_size - old.space_used_size;
}

describe('heapAfterGc', () => {
  it('hands back half-empty pages when compacting, which a regular full GC keeps', async () => {
    // 400,000 small objects in old space, then every other one dropped: each page is left half full,
    // which V8's regular full GC leaves in place.
    const objects: Array<{ a: number; b: number; c: number } | null> = Array.from({ length: 400_000 }, (_, i) => ({ a: i, b: i + 1, c: i + 2 }));
    heapAfterGc();
    for (let i = 1; i < objects.length; i += 2) objects[i] = null;
    const regular = heapAfterGc();
    const slackAfterRegular = oldSpaceSlackBytes();
    // The objects left are live, and the half-empty pages are still resident.
    expect(slackAfterRegular).toBeGreaterThan(5 * 1_048_576);
    const compacted = await compacting(async () => heapAfterGc());
    const slackAfterCompacting = oldSpaceSlackBytes();
    expect(slackAfterCompacting).toBeLessThan(slackAfterRegular / 3);
    expect(compacted.residentBytes).toBeLessThan(regular.residentBytes - 4 * 1_048_576);
    expect(compacted.usedBytes).toBeGreaterThan(0);
    expect(compacted.residentBytes).toBeGreaterThanOrEqual(compacted.usedBytes);
    // Every other object is still there: compacting moves objects, it frees none that are reachable.
    expect(objects.filter((o, i) => o !== null && o.a === i).length).toBe(200_000);
  });

  it('restores the regular GC afterwards, even when the GCs fail', async () => {
    await expect(compacting(async () => Promise.reject(new Error('worker gone')))).rejects.toThrow('worker gone');
    const objects: Array<{ a: number } | null> = Array.from({ length: 400_000 }, (_, i) => ({ a: i }));
    heapAfterGc();
    for (let i = 1; i < objects.length; i += 2) objects[i] = null;
    heapAfterGc();
    // Had the flag stayed on, this regular GC would have compacted the half-empty pages.
    expect(oldSpaceSlackBytes()).toBeGreaterThan(3 * 1_048_576);
    expect(objects.length).toBe(400_000);
  });
});
