import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../clients/keep-alive-http.js';
import { packageRoot } from '../core/paths.js';
import type { RunSummary } from '../core/result.js';
import { startChild } from '../run/child.js';
import { TRANSPORTS } from '../servers/app.js';
import { getJson, testCleanup } from './helpers.js';
import { outRoot, startCli } from './support/cli.js';

/**
 * Whole runs against a server that attacks its subscribers (test/fixtures/hostile-server.mjs): for
 * each misbehaviour, every transport's run ends by itself, each subscription broken with the named
 * code of the limit or timeout it hit, and rtbench's peak memory stays within a bound of a run of the
 * same shape against the same server behaving. The bound is per connection (each decoder's limit),
 * so it is checked with a small, fixed number of subscribers.
 */
const cleanup = testCleanup();
const outDir = outRoot();
const SUBSCRIBERS = 2;
/**
 * The most a subscriber may keep is a long-polling body at its limit (copies of its reads), and the
 * heap may hold as much again in garbage before a collection gives it back: twice that for each
 * subscriber, and slack. Without a limit an endless stream on loopback grows by hundreds of MiB a
 * second, far past this.
 */
const RSS_GROWTH_LIMIT_BYTES = SUBSCRIBERS * 2 * MAX_BODY_BYTES + 32 * 1024 * 1024;

type Mode = 'endless' | 'huge' | 'silent' | 'dribble';
const EXPECTED: Record<Mode, Record<(typeof TRANSPORTS)[number], string>> = {
  endless: { ws: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', sse: 'SSE_LINE_TOO_LONG', 'long-polling': 'LP_BODY_TOO_LARGE', stomp: 'STOMP_FRAME_TOO_LARGE' },
  huge: { ws: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', sse: 'SSE_EVENT_TOO_LARGE', 'long-polling': 'LP_BODY_TOO_LARGE', stomp: 'STOMP_FRAME_TOO_LARGE' },
  silent: { ws: 'WS_HANDSHAKE_TIMEOUT', sse: 'SSE_CONNECT_TIMEOUT', 'long-polling': 'LP_TIMEOUT', stomp: 'WS_HANDSHAKE_TIMEOUT' },
  dribble: { ws: 'WS_HANDSHAKE_TIMEOUT', sse: 'SSE_CONNECT_TIMEOUT', 'long-polling': 'LP_TIMEOUT', stomp: 'WS_HANDSHAKE_TIMEOUT' },
};

/** The peak resident set of a live process (VmHWM), in bytes; null once it is gone. */
function peakRssBytes(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs every transport against the fixture in `mode`; the summary, the exit code and rtbench's peak RSS. */
async function runAgainst(mode: Mode | 'fair'): Promise<{ code: number | null; summary: RunSummary; peakBytes: number; subscriptions: Record<string, number> }> {
  const server = await startChild(`hostile server (${mode})`, join(packageRoot, 'test', 'fixtures', 'hostile-server.mjs'), [mode]);
  cleanup.add(() => server.stop());
  const run = startCli([
    'burst', '--target', server.url, '--transport', 'all', '--subscribers', String(SUBSCRIBERS), '--bursts', '10', '--connect-timeout', '2s', '--deadline', '1s',
    '--json', '--quiet', '--out', outDir(`hostile-${mode}`),
  ]);
  let peakBytes = 0;
  // VmHWM only grows, so the last reading before the process ends is its peak (bar its last 50 ms).
  const sampler = setInterval(() => {
    peakBytes = Math.max(peakBytes, peakRssBytes(run.child.pid!) ?? 0);
  }, 50);
  const { code, stdout, stderr } = await run.done.finally(() => clearInterval(sampler));
  expect(stdout, stderr).not.toBe('');
  const subscriptions = (await getJson(`${server.url}/_fixture/report`)).body.subscriptions as Record<string, number>;
  await server.stop();
  return { code, summary: JSON.parse(stdout) as RunSummary, peakBytes, subscriptions };
}

describe('runs against a hostile server', () => {
  it('end by themselves, with the named error of each limit and bounded memory, on every transport', async () => {
    const fair = await runAgainst('fair');
    expect(fair.code).toBe(0);
    expect(fair.summary.transports.map((t) => [t.transport, t.state])).toEqual(TRANSPORTS.map((t) => [t, 'completed']));
    expect(fair.peakBytes).toBeGreaterThan(0);
    const growth: string[] = [];
    for (const mode of Object.keys(EXPECTED) as Mode[]) {
      const hostile = await runAgainst(mode);
      expect(hostile.code, mode).toBe(1);
      for (const result of hostile.summary.transports) {
        const transport = result.transport as (typeof TRANSPORTS)[number];
        expect(result.state, `${mode} ${transport}`).toBe('failed');
        expect(result.error?.code, `${mode} ${transport}`).toBe('RTB_ERR_NOT_READY');
        // The message names what broke the subscriptions, and does not blame the profile's read().
        expect(result.error?.message, `${mode} ${transport}`).toContain(EXPECTED[mode][transport]);
        expect(result.error?.message, `${mode} ${transport}`).not.toContain('read()');
        // Every error counted is the one this misbehaviour should cause, and it was caused.
        expect(Object.keys(result.errors), `${mode} ${transport}`).toEqual([`subscriber:${EXPECTED[mode][transport]}`]);
        expect(result.errors[`subscriber:${EXPECTED[mode][transport]}`], `${mode} ${transport}`).toBeGreaterThanOrEqual(SUBSCRIBERS);
        // The server really attacked this transport's subscribers.
        expect(hostile.subscriptions[transport], `${mode} ${transport}`).toBeGreaterThanOrEqual(SUBSCRIBERS);
      }
      expect(hostile.summary.transports.map((t) => t.transport)).toEqual([...TRANSPORTS]);
      growth.push(`${mode} ${((hostile.peakBytes - fair.peakBytes) / 2 ** 20).toFixed(1)} MiB`);
      expect(hostile.peakBytes - fair.peakBytes, `${mode}: peak RSS ${hostile.peakBytes} against ${fair.peakBytes} behaving`).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
    }
    console.log(`rtbench peak RSS beyond a behaving server's run, ${SUBSCRIBERS} subscribers per transport: ${growth.join(', ')}`);
  }, 300_000);
});
