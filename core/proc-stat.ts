import { readFileSync } from 'node:fs';

/** Linux's USER_HZ and page size on the machines rtbench runs on (x86-64 and arm64 defaults). */
const CLOCK_TICKS_PER_S = 100;
const PAGE_BYTES = 4096;

export interface ProcStat {
  /** CPU time the process itself has used (utime + stime), ms. */
  readonly cpuMs: number;
  /**
   * CPU time of the children it has waited for (cutime + cstime), ms. A process that ends takes its
   * CPU out of any sum over live processes; it reappears here, in its parent's reading.
   */
  readonly reapedChildrenCpuMs: number;
  readonly rssBytes: number;
}

/** Reads the fields rtbench needs from a /proc/<pid>/stat line; null for what is not one. */
export function parseProcStat(line: string): ProcStat | null {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
  // the fields that follow start after its last ')'.
  const end = line.lastIndexOf(')');
  if (end < 0) return null;
  const fields = line.slice(end + 2).split(' ');
  // From field 3 on: utime, stime, cutime, cstime are fields 14-17, rss (pages) field 24.
  const ticks = [11, 12, 13, 14, 21].map((index) => Number(fields[index]));
  if (ticks.some((value) => !Number.isFinite(value) || value < 0)) return null;
  const [utime, stime, cutime, cstime, rssPages] = ticks as [number, number, number, number, number];
  return {
    cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_S,
    reapedChildrenCpuMs: ((cutime + cstime) * 1000) / CLOCK_TICKS_PER_S,
    rssBytes: rssPages * PAGE_BYTES,
  };
}

/** A process's /proc stat; null where it is gone or there is no /proc. */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}
