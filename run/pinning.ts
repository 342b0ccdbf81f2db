import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { RtbError } from '../core/errors.js';

/**
 * CPU pinning (`--server-cpus`, `--generator-cpus`): on one machine, the built-in server and the
 * load generator each get cores of their own, so neither takes the other's CPU and a knee found is
 * one side's. Linux only, through `taskset` (util-linux), applied to every thread of the process;
 * threads started later (the generator's workers) inherit it.
 */

/** Parses a CPU list as taskset takes it: `1`, `0,2`, `2-3`, `0,2-3`. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (!match || last < first || last > 1023) throw new InvalidArgumentError('expected a CPU list, e.g. 0, 1-3 or 0,2 (numbers as in /proc/cpuinfo).');
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The list as text, ranges joined: [0, 1, 2, 5] -> `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] as number) + 1) j++;
    parts.push(i === j ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j;
  }
  return parts.join(',');
}

/**
 * Why pinning cannot be done here, or null when it can: not Linux, no `taskset`, or a CPU this
 * machine does not have.
 */
export function pinningProblem(option: string, cpus: readonly number[], tasksetPath = 'taskset'): string | null {
  if (process.platform !== 'linux') return `${option} pins with Linux's taskset; this is ${process.platform}`;
  try {
    execFileSync(tasksetPath, ['--version'], { stdio: 'ignore' });
  } catch {
    return `${option} needs taskset (util-linux), which is not on the PATH`;
  }
  const cores = availableParallelism();
  const missing = cpus.filter((cpu) => cpu >= cores);
  if (missing.length > 0) return `${option} ${formatCpuList(cpus)}: this machine has CPUs 0-${cores - 1}`;
  return null;
}

/** Pins every thread of `pid` to `cpus`; threads it starts later inherit the pinning. */
export function pinProcess(pid: number, cpus: readonly number[], tasksetPath = 'taskset'): void {
  try {
    execFileSync(tasksetPath, ['--all-tasks', '--cpu-list', '--pid', formatCpuList(cpus), String(pid)], { stdio: 'ignore' });
  } catch (error) {
    throw new RtbError('RTB_ERR_PINNING', `could not pin pid ${pid} to CPUs ${formatCpuList(cpus)}: ${(error as Error).message}`);
  }
}

/** The CPUs a process may run on, as the kernel says (`Cpus_allowed_list`), or null where it cannot be read. */
export function allowedCpus(pid: number): string | null {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
