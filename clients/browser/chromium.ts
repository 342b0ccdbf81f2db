import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { procStat } from '../../core/proc-stat.js';
import { withDescendants } from '../../core/process-tree.js';

/** Names the system's Chromium goes by (Debian's `chromium`, others' `chromium-browser`, Chrome). */
const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The first Chromium on PATH, or null: rtbench drives the system's browser and never downloads one. */
export function findChromium(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    for (const name of NAMES) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here.
      }
    }
  }
  return null;
}

/**
 * A switch Chromium ignores, added to its command line so the processes of one launch can be found
 * in /proc (for their CPU and memory) among every other browser of the machine.
 */
export function launchTag(runId: string, thread: number): string {
  return `--rtbench-subscribers=${runId}-${thread}`;
}

/**
 * Chromium features turned off. Chromium reads only the last `--disable-features` of its command
 * line, so this one list replaces the one Playwright passes and has to hold all that matters here.
 */
export const DISABLED_FEATURES: readonly string[] = [
  // The subscriber page is served by rtbench on the target's origin, not loaded from it, so Chromium
  // cannot tell that the page itself is on this machine and would refuse its loopback WebSockets as
  // a public page reaching into the local network.
  'LocalNetworkAccessChecks',
  'BlockInsecurePrivateNetworkRequests',
  // An http:// target stays on http://: an upgraded navigation would miss the page rtbench serves
  // and reach the target itself.
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  // Nothing of the browser's own on the network: load goes to the target only.
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'PreconnectToSearch',
  'AimEnabled',
  'MediaRouter',
  // Each page has a browser context of its own (its own connection pool), hence a window of its own,
  // and each window preloads the omnibox popup's WebUI in a renderer of its own: a user's browser
  // has one per window, not one per tab, and rtbench would count them all in the browser's CPU and
  // memory.
  'WebUIOmniboxPopup',
  'WebUIOmniboxFullPopup',
  'WebUIOmniboxAimPopup',
];

/** Headless Chromium with nothing of its own on the network: no sync, no updates, no QUIC. */
export async function launchChromium(executablePath: string, tag: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    // No sandbox as root in a container.
    args: [`--disable-features=${DISABLED_FEATURES.join(',')}`, '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-renderer-backgrounding', '--disable-background-timer-throttling', tag],
  });
}

/** The processes of one launch (browser, renderers, GPU and network services), by its tag. */
export function browserProcesses(tag: string): number[] {
  let roots: number[] = [];
  try {
    roots = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(tag);
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
  // Every process of the launch carries the tag only where Chromium passes it on; its children are found from the root.
  return [...new Set(roots.flatMap(withDescendants))];
}

/**
 * CPU time (ms) and memory of some processes: their proportional set size summed (each shared page
 * split among the processes sharing it, so the sum is what the browser holds), or the resident size
 * where the kernel gives no PSS.
 */
export function processUsage(pids: readonly number[]): { cpuMs: number; memoryBytes: number } {
  let cpuMs = 0;
  let memoryBytes = 0;
  for (const pid of pids) {
    const stat = procStat(pid);
    if (stat === null) continue; // Gone since it was listed.
    // Chromium ends processes during a run (a spare renderer, a utility): their CPU then moves to
    // the process that reaps them, so a sum over the live tree that counts both never goes back,
    // as one of the process's own CPU alone would.
    cpuMs += stat.cpuMs + stat.reapedChildrenCpuMs;
    memoryBytes += pssBytes(pid) ?? stat.rssBytes;
  }
  return { cpuMs: Math.round(cpuMs), memoryBytes };
}

function pssBytes(pid: number): number | null {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
