import { readdirSync, readFileSync } from 'node:fs';

/**
 * How long a process's threads were ready to run but waited for a CPU, from Linux's per-thread
 * scheduler statistics (`/proc/<pid>/task/<tid>/schedstat`: time on the CPU, time waiting on a run
 * queue, both in ns, then the number of times it ran). The waiting is what other processes, the VM
 * and the process's own other threads cost a thread: a timestamp taken right after such a wait is
 * late by it. Read by the sampler once a second, so nothing has to wake a thread to find out (an
 * event-loop delay monitor's timer cost each generator thread about 3 ms of CPU a second here).
 */

/** The run-queue wait (ns) in one schedstat line, null when the line is not one. */
export function runQueueWaitNs(schedstat: string): number | null {
  const fields = schedstat.trim().split(/\s+/);
  if (fields.length < 3) return null;
  const waitNs = Number(fields[1]);
  return Number.isSafeInteger(waitNs) && waitNs >= 0 ? waitNs : null;
}

/** Cumulative run-queue wait (ns) of each thread of `pid`; null where /proc has no such statistics (not Linux). */
export function threadWaitsNs(pid: number): Map<number, number> | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const waits = new Map<number, number>();
  for (const tid of tids) {
    try {
      const waitNs = runQueueWaitNs(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1'));
      if (waitNs !== null) waits.set(Number(tid), waitNs);
    } catch {
      // The thread ended between the listing and the read: it waits no more.
    }
  }
  return waits.size > 0 ? waits : null;
}

/**
 * The longest any one thread of a process waited for a CPU between two readings, in whole µs: an
 * upper bound of how late any timestamp that thread took in the interval can be because the
 * machine did not run it (the sum of its waits bounds each of them). A thread first seen in this
 * reading started after the previous one, so all its waiting falls in the interval; the first
 * reading only sets the baseline and gives null.
 */
export class ThreadWaitMeter {
  private previous: Map<number, number> | null = null;

  constructor(private readonly pid: number = process.pid) {}

  readUs(): number | null {
    const current = threadWaitsNs(this.pid);
    const previous = this.previous;
    this.previous = current;
    if (current === null || previous === null) return null;
    let longestNs = 0;
    for (const [tid, waitNs] of current) longestNs = Math.max(longestNs, waitNs - (previous.get(tid) ?? 0));
    return Math.round(longestNs / 1000);
  }
}
