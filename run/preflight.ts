import { readFileSync } from 'node:fs';
import os from 'node:os';
import { RtbError } from '../core/errors.js';

/** What this machine allows, read where Linux keeps it; nulls where it cannot be read (not Linux). */
export interface MachineLimits {
  /** Soft limit on open files per process (`ulimit -n`). */
  readonly openFiles: number | null;
  /** Ephemeral ports per source address and destination (`ip_local_port_range`). */
  readonly ephemeralPorts: number | null;
  readonly availableMemoryBytes: number;
}

export function machineLimits(): MachineLimits {
  let openFiles: number | null = null;
  let ephemeralPorts: number | null = null;
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /Max open files\s+(\S+)/.exec(limits)?.[1];
    openFiles = soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    // not Linux: the check below is skipped and said so
  }
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined) ephemeralPorts = high - low + 1;
  } catch {
    // as above
  }
  return { openFiles, ephemeralPorts, availableMemoryBytes: os.freemem() };
}

export interface LoadRequest {
  /** Subscriber connections held at the largest step. */
  readonly connections: number;
  /** Extra sockets the generator opens (publisher pool, health checks). */
  readonly extraSockets: number;
  /** Whether the built-in server runs (as its own process) or a `--target` is measured. */
  readonly builtInServer: boolean;
  /** Whether the delay proxy sits in between (it holds two sockets per connection). */
  readonly proxy: boolean;
  /** Whether the target is on loopback, where extra 127.0.0.x source addresses exist. */
  readonly loopback: boolean;
}

export interface Plan {
  /** Source addresses to spread client sockets over; empty means the system's default. */
  readonly localAddresses: readonly string[];
  /** What was checked, with numbers, for the record. */
  readonly checks: readonly string[];
}

/** File descriptors a process needs beyond its sockets (stdio, pipes, the event loop, modules). */
const FD_MARGIN = 200;
/**
 * Memory per held connection, generator and server together: a deliberately high bound from
 * measuring SSE (the heaviest client, web streams) at 10,000 connections, to refuse early rather
 * than swap.
 */
const BYTES_PER_CONNECTION = 200 * 1024;
/** Leave this share of ephemeral ports per address unused (TIME_WAIT, other programs). */
const PORT_HEADROOM = 0.8;

/**
 * Checks the largest step against what the machine allows and refuses, with the numbers, when it
 * cannot work; otherwise returns how to spread sockets over loopback source addresses.
 */
export function preflight(request: LoadRequest, limits: MachineLimits = machineLimits()): Plan {
  const checks: string[] = [];
  const problems: string[] = [];
  const generatorFds = request.connections + request.extraSockets + FD_MARGIN;
  const serverFds = request.connections + request.extraSockets + FD_MARGIN;
  const proxyFds = 2 * (request.connections + request.extraSockets) + FD_MARGIN;
  if (limits.openFiles === null) {
    checks.push('open-file limit: unknown on this system, not checked');
  } else {
    const need: Array<[string, number]> = [['generator', generatorFds]];
    if (request.builtInServer) need.push(['server', serverFds]);
    if (request.proxy) need.push(['delay proxy', proxyFds]);
    for (const [who, fds] of need) {
      const line = `${who} needs about ${fds} file descriptors; ulimit -n is ${limits.openFiles}`;
      checks.push(line);
      if (fds > limits.openFiles) problems.push(`${line} (raise it with 'ulimit -n', or ask for fewer connections${who === 'delay proxy' ? ', or drop --delay' : ''})`);
    }
  }

  let localAddresses: string[] = [];
  const sockets = request.connections + request.extraSockets;
  if (limits.ephemeralPorts === null) {
    checks.push('ephemeral port range: unknown on this system, not checked');
  } else {
    const usablePorts = Math.floor(limits.ephemeralPorts * PORT_HEADROOM);
    const addressesNeeded = Math.ceil(sockets / usablePorts);
    checks.push(`${sockets} client sockets; ${limits.ephemeralPorts} ephemeral ports per source address (${usablePorts} used at most)`);
    if (addressesNeeded > 1) {
      if (!request.loopback) {
        problems.push(`${sockets} sockets to one remote address need ${addressesNeeded} source addresses of ${usablePorts} ports each; only loopback targets can use 127.0.0.x`);
      } else {
        localAddresses = Array.from({ length: addressesNeeded }, (_, i) => `127.0.0.${i + 1}`);
        checks.push(`spreading client sockets over ${localAddresses.join(', ')}`);
      }
    }
  }

  const memoryNeeded = request.connections * BYTES_PER_CONNECTION;
  const memoryLine = `about ${(memoryNeeded / 2 ** 30).toFixed(1)} GiB for ${request.connections} connections; ${(limits.availableMemoryBytes / 2 ** 30).toFixed(1)} GiB free`;
  checks.push(memoryLine);
  if (memoryNeeded > limits.availableMemoryBytes) problems.push(memoryLine);

  if (problems.length > 0) {
    throw new RtbError('RTB_ERR_PREFLIGHT', `this machine cannot run ${request.connections} connections:\n  - ${problems.join('\n  - ')}`);
  }
  return { localAddresses, checks };
}
