import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/**
 * How long a process's threads were ready to run but waited for a CPU, from Linux's per-thread
 * scheduler statistics (`/proc/<pid>/task/<tid>/schedstat`: time on the CPU, time waiting on a run
 * queue, both in ns, then the number of times it ran). The waiting is what other processes, the VM
 * and the process's own other threads cost a thread: a timestamp taken right after such a wait is
 * late by it. Read by the sampler once a second, so nothing has to wake a thread to find out (an
 * event-loop delay monitor's timer wakes its thread many times a second, a CPU cost on every
 * generator thread).
 */

/** The run-queue wait (ns) in one schedstat line, null when the line is not one. */
export function runQueueWaitNs(schedstat: string): number | null {
  const fields = schedstat.trim().split(/\s+/);
  if (fields.length < 3) return null;
  const waitNs = Number(fields[1]);
  return Number.isSafeInteger(waitNs) && waitNs >= 0 ? waitNs : null;
}

/** A schedstat line is three numbers (under 70 bytes); one buffer per meter is read into again and again. */
const SCHEDSTAT_BYTES = 128;

/**
 * Cumulative run-queue wait (ns) of each thread of `pid`, read through `files`: one descriptor per
 * thread, kept open and read again from offset 0 each time (/proc regenerates the line), closed when
 * its thread is gone. `readFileSync` of each file opens, reads and closes it and allocates a 16 KiB
 * buffer per thread per reading, freed only by V8's next GC, which in a soak made the main thread's
 * malloc heap swing between GCs and blurred the generator's memory trend; this costs a `pread` per
 * thread and allocates one short string. Null where /proc has no such statistics.
 */
function threadWaitsNs(pid: number, files: Map<string, number>, buffer: Buffer): Map<number, number> | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    closeAll(files);
    return null;
  }
  const alive = new Set(tids);
  for (const [tid, fd] of files) {
    if (alive.has(tid)) continue;
    closeSync(fd);
    files.delete(tid);
  }
  const waits = new Map<number, number>();
  for (const tid of tids) {
    let fd = files.get(tid);
    try {
      if (fd === undefined) {
        fd = openSync(`/proc/${pid}/task/${tid}/schedstat`, 'r');
        files.set(tid, fd);
      }
      const bytes = readSync(fd, buffer, 0, buffer.length, 0);
      const waitNs = runQueueWaitNs(buffer.toString('latin1', 0, bytes));
      if (waitNs !== null) {
        waits.set(Number(tid), waitNs);
        continue;
      }
    } catch {
      // The thread ended between the listing and the read: it waits no more.
    }
    // A descriptor that gave no line is of a thread that ended (its id may be a new thread's next
    // time): closed, so that a later reading opens the file afresh.
    if (fd !== undefined) {
      closeSync(fd);
      files.delete(tid);
    }
  }
  return waits.size > 0 ? waits : null;
}

function closeAll(files: Map<string, number>): void {
  for (const fd of files.values()) closeSync(fd);
  files.clear();
}

/**
 * The longest any one thread of a process waited for a CPU between two readings, in whole µs: an
 * upper bound of how late any timestamp that thread took in the interval can be because the
 * machine did not run it (the sum of its waits bounds each of them). A thread first seen in this
 * reading started after the previous one, so all its waiting falls in the interval; the first
 * reading only sets the baseline and gives null. `close()` releases the descriptors it keeps.
 */
export class ThreadWaitMeter {
  private previous: Map<number, number> | null = null;
  private readonly files = new Map<string, number>();
  private readonly buffer = Buffer.allocUnsafe(SCHEDSTAT_BYTES);

  constructor(private readonly pid: number = process.pid) {}

  readUs(): number | null {
    const current = threadWaitsNs(this.pid, this.files, this.buffer);
    const previous = this.previous;
    this.previous = current;
    if (current === null || previous === null) return null;
    let longestNs = 0;
    for (const [tid, waitNs] of current) longestNs = Math.max(longestNs, waitNs - (previous.get(tid) ?? 0));
    return Math.round(longestNs / 1000);
  }

  /** Closes every descriptor; a later reading opens them again and starts a new baseline. */
  close(): void {
    closeAll(this.files);
    this.previous = null;
  }

  /** Descriptors held now, for tests. */
  get openFiles(): number {
    return this.files.size;
  }
}
