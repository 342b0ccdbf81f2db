import { describe, expect, it } from 'vitest';
import { parseProcStat, procStat } from '../core/proc-stat.js';

describe('a process stat line', () => {
  it('is read after the last parenthesis of a command name holding spaces and parentheses', () => {
    // Fields 14-17 (utime, stime, cutime, cstime) 120, 30, 7, 3 ticks; field 24 (rss) 2,500 pages.
    const line = '4242 (Web Content (x) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 120 30 7 3 20 0 9 0 3300 81920000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';
    expect(parseProcStat(line)).toEqual({ cpuMs: 1500, reapedChildrenCpuMs: 100, rssBytes: 2500 * 4096 });
  });

  it('is null for what is not one', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('4242 (node) S 1 2 3')).toBeNull();
    expect(parseProcStat('4242 node S 1 4242 4242 0 -1 4194560 900 0 0 0 120 30 7 3 20 0 9 0 3300 81920000 2500')).toBeNull();
  });

  it.skipIf(process.platform !== 'linux')("gives this process's CPU, growing with work, and null for a pid that is not there", () => {
    const before = procStat(process.pid);
    expect(before).not.toBeNull();
    const untilMs = performance.now() + 100;
    let spins = 0;
    while (performance.now() < untilMs) spins++;
    const after = procStat(process.pid)!;
    expect(spins).toBeGreaterThan(0);
    // 100 ms of spinning, read in ticks of 10 ms: at least half of it shows on any machine.
    expect(after.cpuMs - before!.cpuMs).toBeGreaterThanOrEqual(50);
    expect(after.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(procStat(2 ** 22 + 1)).toBeNull();
  });
});
