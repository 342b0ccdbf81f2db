import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ChildHandle, startChild } from '../run/child.js';
import { countAtOrAbove, decodeHistogram } from '../core/histogram.js';
import { packageRoot } from '../core/paths.js';
import type { RunSummary, TransportResult } from '../core/result.js';
import { burstPlan } from '../scenarios/burst.js';
import { TRANSPORTS } from '../servers/app.js';
import { getJson, testCleanup } from './helpers.js';
import { outRoot, runJson } from './support/cli.js';

/**
 * End-to-end ground truth: rtbench against a server whose misbehaviour is known and counted by the
 * server itself (test/fixtures/misbehaving-server.mjs), and through the delay proxy against an
 * undelayed run in the same test. Every check is two-sided or exact, so a harness that lost count,
 * added its own sleeps or applied a delay twice fails here.
 */
const cleanup = testCleanup();
const outDir = outRoot();

interface FixtureConfig {
  readonly holdMs?: number;
  readonly dropEvery?: number;
  readonly dupEvery?: number;
  readonly swapEvery?: number;
  readonly stallAt?: number;
  readonly stallMs?: number;
}

interface RoomReport {
  readonly measured: number;
  readonly dropped: number;
  readonly duplicated: number;
  readonly swapped: number;
  readonly stalls: number;
  readonly droppedSeqs: readonly number[];
}

async function fixture(config: FixtureConfig): Promise<ChildHandle> {
  const child = await startChild('misbehaving server', join(packageRoot, 'test', 'fixtures', 'misbehaving-server.mjs'), [JSON.stringify(config)]);
  cleanup.add(() => child.stop());
  return child;
}

async function report(server: ChildHandle, summary: RunSummary, transport: string): Promise<RoomReport> {
  const all = (await getJson(`${server.url}/_fixture/report`)).body as Record<string, RoomReport>;
  const room = all[`rtb-${summary.runId}-${transport}-r0`];
  expect(room, `the server saw no room for ${transport}`).toBeDefined();
  return room!;
}

function byTransport(summary: RunSummary): Map<string, TransportResult> {
  expect(summary.transports.map((t) => t.transport)).toEqual([...TRANSPORTS]);
  for (const result of summary.transports) expect(result.state, `${result.transport}: ${result.error?.message}`).toBe('completed');
  return new Map(summary.transports.map((t) => [t.transport, t]));
}

const p50 = (result: TransportResult | undefined): number => result?.latencyUs.perMessage.p50 ?? Number.NaN;

describe('ground truth: a server that drops, duplicates and reorders', () => {
  it('reports exactly the deliveries the server dropped, duplicated and swapped, on every transport', async () => {
    const server = await fixture({ dropEvery: 5, dupEvery: 7, swapEvery: 11 });
    const subscribers = 3;
    // Sends 30 ms apart: a generator hiccup of 10-20 ms (seen on a 2-core machine) must not put two
    // publishes on two sockets at once, where they could reach the server in the other order.
    const schedule = { bursts: 20, burstSize: 3, gapMs: 30, pauseMs: 60 };
    const summary = await runJson([
      'burst', '--target', server.url, '--transport', 'all', '--subscribers', String(subscribers), '--bursts', String(schedule.bursts),
      '--burst-size', String(schedule.burstSize), '--gap', `${schedule.gapMs}ms`, '--pause', `${schedule.pauseMs}ms`, '--deadline', '1s', '--out', outDir('misbehaving'),
    ]);
    const plan = burstPlan(schedule);
    for (const [transport, result] of byTransport(summary)) {
      const truth = await report(server, summary, transport);
      // The misbehaviour really happened (so the checks below are not 0 == 0).
      expect(truth.measured, transport).toBe(plan.length);
      expect(truth.dropped * truth.duplicated * truth.swapped, transport).toBeGreaterThan(0);
      expect(result.messages, transport).toEqual({
        expected: plan.length * subscribers,
        received: (plan.length - truth.dropped) * subscribers,
        lost: truth.dropped * subscribers,
        late: 0,
        duplicated: truth.duplicated * subscribers,
        outOfOrder: truth.swapped * subscribers,
        pending: 0,
        foreign: 0,
      });
      // A burst fails, for every subscriber, exactly when one of its messages was dropped.
      const failedBursts = new Set(truth.droppedSeqs.map((seq) => plan[seq]!.group)).size;
      expect(result.subscriberBursts, transport).toEqual({ ok: (schedule.bursts - failedBursts) * subscribers, failed: failedBursts * subscribers, pending: 0 });
      expect(result.latencyUs.perMessage.count, transport).toBe(result.messages.received);
    }
  }, 90_000);
});

describe('ground truth: latency', () => {
  it('sits inside a two-sided band around a known hold, measured beside an undelayed run', async () => {
    const holdMs = 40;
    const [prompt, holding] = await Promise.all([fixture({}), fixture({ holdMs })]);
    const args = ['burst', '--transport', 'all', '--subscribers', '3', '--bursts', '10'];
    const base = byTransport(await runJson([...args, '--target', prompt.url, '--out', outDir('hold-0')]));
    const held = byTransport(await runJson([...args, '--target', holding.url, '--out', outDir(`hold-${holdMs}`)]));
    for (const transport of TRANSPORTS) {
      const addedUs = p50(held.get(transport)) - p50(base.get(transport));
      // The fixture never releases early and a timer is rarely more than a few ms late: hold + 0 to 8 ms, less up to
      // 2 ms for the noise of two medians taken apart (no single message beats the hold: min below).
      expect(addedUs, `${transport}: p50 ${p50(held.get(transport))} µs against ${p50(base.get(transport))} µs`).toBeGreaterThanOrEqual((holdMs - 2) * 1000);
      expect(addedUs, transport).toBeLessThanOrEqual((holdMs + 8) * 1000);
      expect(held.get(transport)?.latencyUs.perMessage.min, transport).toBeGreaterThanOrEqual(holdMs * 1000);
      expect(held.get(transport)?.messages.lost, transport).toBe(0);
    }
  }, 90_000);

  it("shows a stalled server's stall in latency while the publisher keeps its schedule (no coordinated omission)", async () => {
    // One message every 100 ms; when the server gets the 20th it freezes for 1 s. Messages scheduled
    // inside the freeze wait for its end: the k-th of them (k = 0, 1, ...) about 1000 - 100k ms.
    // Those at or above 450 ms are k = 0..5: 6 messages per subscriber, whatever the transport, with
    // 50 ms to spare on either side (k = 5 waits about 500 ms, k = 6 about 400 ms).
    const stallMs = 1000;
    const server = await fixture({ stallAt: 20, stallMs });
    const subscribers = 2;
    const summary = await runJson([
      'burst', '--target', server.url, '--transport', 'all', '--subscribers', String(subscribers), '--bursts', '60', '--burst-size', '1', '--pause', '100ms', '--deadline', '5s', '--out', outDir('stall'),
    ]);
    for (const [transport, result] of byTransport(summary)) {
      expect((await report(server, summary, transport)).stalls, transport).toBe(1);
      const latency = decodeHistogram(result.histograms.perMessage);
      expect(countAtOrAbove(latency, 450_000), transport).toBe(6 * subscribers);
      expect(result.latencyUs.perMessage.max, transport).toBeGreaterThanOrEqual(stallMs * 1000 * 0.98);
      expect(result.latencyUs.perMessage.max, transport).toBeLessThan((stallMs + 100) * 1000);
      // Open loop: the publisher did not wait for the frozen server's answers. A closed-loop one is
      // about 900 ms late (tried); 50 ms leaves room for a hiccup of the generator's own.
      expect(result.latencyUs.sendLag.p99, transport).toBeLessThan(50_000);
      expect(result.latencyUs.sendLag.count, transport).toBe(60);
      expect(result.messages.lost, transport).toBe(0);
    }
  }, 90_000);
});

describe('ground truth: the delay proxy, both modes', () => {
  it('link mode adds one round trip of delay to every message; request mode adds one one-way delay', async () => {
    const delayMs = 20;
    const args = ['burst', '--transport', 'all', '--subscribers', '3', '--bursts', '10'];
    const none = byTransport(await runJson([...args, '--out', outDir('proxy-none')]));
    const link = byTransport(await runJson([...args, '--delay', String(delayMs), '--out', outDir('proxy-link')]));
    const request = byTransport(await runJson([...args, '--delay', String(delayMs), '--delay-mode', 'request', '--out', outDir('proxy-request')]));
    for (const transport of TRANSPORTS) {
      const base = p50(none.get(transport));
      // Link: the POST crosses the link once, the push crosses it back once (2 x 20 ms), nothing more.
      const linkAddedUs = p50(link.get(transport)) - base;
      // Less up to 2 ms for the noise of two medians taken apart; no single message beats the link (min).
      expect(linkAddedUs, `${transport} link`).toBeGreaterThanOrEqual((2 * delayMs - 2) * 1000);
      expect(link.get(transport)?.latencyUs.perMessage.min, `${transport} link`).toBeGreaterThanOrEqual(2 * delayMs * 1000);
      expect(linkAddedUs, `${transport} link`).toBeLessThanOrEqual((2 * delayMs + 8) * 1000);
      expect(link.get(transport)?.latencyUs.publishRtt.min, `${transport} link RTT`).toBeGreaterThanOrEqual(2 * delayMs * 1000);
      // Request: only the POST's request is held (the original study's nginx sleep); pushed bytes pass at once.
      const requestAddedUs = p50(request.get(transport)) - base;
      expect(requestAddedUs, `${transport} request`).toBeGreaterThanOrEqual((delayMs - 2) * 1000);
      expect(request.get(transport)?.latencyUs.perMessage.min, `${transport} request`).toBeGreaterThanOrEqual(delayMs * 1000);
      expect(requestAddedUs, `${transport} request`).toBeLessThanOrEqual((delayMs + 8) * 1000);
      for (const run of [link, request]) expect(run.get(transport)?.messages.lost, transport).toBe(0);
    }
  }, 120_000);
});
