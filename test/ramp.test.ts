import { NO_OWN_DELAY } from '../core/own-delay.js';
import { describe, expect, it } from 'vitest';
import { encodeHistogram, latencyStats, newHistogram, recordUs } from '../core/histogram.js';
import type { StepReply } from '../load/worker/protocol.js';
import { SubscriberPool, mergeStep } from '../load/worker/pool.js';
import { encodeMarker } from '../core/marker.js';
import { publishOnSchedule } from '../load/publisher.js';
import { referenceProfile } from '../targets/reference.js';
import { nowUs } from '../core/clock.js';
import { errorRate, parsePercent, parseSteps, stepPlan } from '../scenarios/ramp-step.js';
import { referenceTarget, testCleanup } from './helpers.js';

const cleanup = testCleanup();

describe('ramp options and plan', () => {
  it('parses steps and percentages, refusing bad ones', () => {
    expect(parseSteps('100,1000,5000,10000')).toEqual([100, 1000, 5000, 10_000]);
    for (const bad of ['', '10,5', '0,10', '1.5', 'a,b', '10,10']) expect(() => parseSteps(bad), bad).toThrow('strictly increasing');
    expect(parsePercent('5')).toBe(0.05);
    expect(parsePercent('12.5%')).toBe(0.125);
    expect(() => parsePercent('150')).toThrow('percentage');
  });

  it('staggers rooms inside each message interval', () => {
    const plan = stepPlan(2, 2, 2);
    expect(plan.map((m) => [m.seq, m.room, m.offsetUs])).toEqual([[0, 0, 0], [1, 1, 250_000], [2, 0, 500_000], [3, 1, 750_000]]);
  });

  it('counts failed connects and lost deliveries in the error rate', () => {
    const messages = { expected: 900, received: 880, lost: 20, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 };
    expect(errorRate(100, 10, messages)).toBeCloseTo(30 / 1000);
    expect(errorRate(0, 0, { ...messages, expected: 0, lost: 0 })).toBe(0);
  });
});

describe('mergeStep', () => {
  it('adds counts, merges histograms and computes fan-out spread across workers', () => {
    const plan = stepPlan(2, 1, 1);
    const reply = (values: number[], first: number[], last: number[], count: number[]): StepReply => {
      const histogram = newHistogram();
      for (const value of values) recordUs(histogram, value);
      const encoded = encodeHistogram(histogram);
      const empty = encodeHistogram(newHistogram());
      return {
        result: {
          messages: { expected: 4, received: values.length, lost: 4 - values.length, late: 0, duplicated: 1, outOfOrder: 0, pending: 0, foreign: 0 },
          subscriberBursts: { ok: 0, failed: 0, pending: 0 },
          latencyUs: {} as never,
          histograms: { perMessage: encoded, burstCompletion: empty, fanOutSpread: empty, publishRtt: empty, sendLag: empty },
          errors: { 'subscriber:X': 1 },
        },
        firstUs: Float64Array.from(first),
        lastUs: Float64Array.from(last),
        count: Uint32Array.from(count),
        connected: 2,
        reconnects: 1,
        gaps: 0,
        sends: 2,
        ownDelay: { longestUs: values.length * 100, counts: [values.length, 1] },
      };
    };
    // Four subscribers in one room, two per worker. Message 0 reaches all four; message 1 only three.
    const merged = mergeStep(
      [reply([1000, 2000, 3000, 4000], [100, 200], [150, 260], [2, 2]), reply([1500, 2500, 3500], [120, 210], [400, 210], [2, 1])],
      plan,
      () => 4,
    );
    expect(merged.messages).toMatchObject({ expected: 8, received: 7, lost: 1, duplicated: 2 });
    expect(latencyStats(merged.perMessage).count).toBe(7);
    // Spread of message 0: first arrival 100 (worker 0), last 400 (worker 1).
    expect(latencyStats(merged.fanOutSpread)).toMatchObject({ count: 1, min: 300 });
    expect(merged.errors).toEqual({ 'subscriber:X': 2 });
    expect(merged).toMatchObject({ connected: 4, reconnects: 2, gaps: 0, sends: 4 });
    // The workers' own delay: the longest run of either, bucket counts added.
    expect(merged.ownDelay.longestUs).toBe(400);
    expect(merged.ownDelay.counts.slice(0, 3)).toEqual([7, 2, 0]);
  });

  it('ignores a worker that got none of a message, judges each room by its own audience, and sums gaps', () => {
    // Two rooms: message 0 to room 0 (audience 2), message 1 to room 1 (audience 1), message 2 to room 2 (nobody).
    const plan = [
      { seq: 0, group: 0, offsetUs: 0, room: 0 },
      { seq: 1, group: 1, offsetUs: 1000, room: 1 },
      { seq: 2, group: 2, offsetUs: 2000, room: 2 },
    ];
    const empty = encodeHistogram(newHistogram());
    const reply = (first: number[], last: number[], count: number[], gaps: number): StepReply => ({
      result: {
        messages: { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
        subscriberBursts: { ok: 0, failed: 0, pending: 0 },
        latencyUs: {} as never,
        histograms: { perMessage: empty, burstCompletion: empty, fanOutSpread: empty, publishRtt: empty, sendLag: empty },
        errors: {},
      },
      firstUs: Float64Array.from(first),
      lastUs: Float64Array.from(last),
      count: Uint32Array.from(count),
      connected: 1,
      reconnects: 0,
      gaps,
      sends: 0,
      ownDelay: NO_OWN_DELAY,
    });
    const audience = (room: number): number => [2, 1, 0][room] ?? 0;
    const merged = mergeStep(
      [reply([500, 1100, Number.NaN], [600, 1100, 0], [2, 1, 0], 2), reply([Number.NaN, Number.NaN, Number.NaN], [0, 0, 0], [0, 0, 0], 3)],
      plan,
      audience,
    );
    // Message 0: 100 µs of spread within one worker; message 1: one subscriber, spread 0; message 2: no audience.
    expect(latencyStats(merged.fanOutSpread)).toMatchObject({ count: 2, min: 0, max: 100 });
    expect(merged.gaps).toBe(5);
  });
});

describe('mergeStep: bursts across workers', () => {
  it('times a burst from its first scheduled send to its last arrival anywhere, only when every message reached its whole audience', () => {
    // Burst 0: messages 0 and 1 to room 0 (2 subscribers, one per worker); burst 1: message 2, which
    // one subscriber missed; burst 2: message 3 to room 1, where nobody listens.
    const plan = [
      { seq: 0, group: 0, offsetUs: 0, room: 0 },
      { seq: 1, group: 0, offsetUs: 1000, room: 0 },
      { seq: 2, group: 1, offsetUs: 5000, room: 0 },
      { seq: 3, group: 2, offsetUs: 6000, room: 1 },
    ];
    const empty = encodeHistogram(newHistogram());
    const reply = (first: number[], count: number[], bursts: { ok: number; failed: number; pending: number }): StepReply => ({
      result: {
        messages: { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 },
        subscriberBursts: bursts,
        latencyUs: {} as never,
        histograms: { perMessage: empty, burstCompletion: empty, fanOutSpread: empty, publishRtt: empty, sendLag: empty },
        errors: {},
      },
      firstUs: Float64Array.from(first),
      lastUs: Float64Array.from(first),
      count: Uint32Array.from(count),
      connected: 1,
      reconnects: 0,
      gaps: 0,
      sends: 0,
      ownDelay: NO_OWN_DELAY,
    });
    const startUs = 10_000;
    const merged = mergeStep(
      [reply([10_100, 11_200, 15_300, Number.NaN], [1, 1, 1, 0], { ok: 2, failed: 0, pending: 1 }), reply([10_150, 11_900, Number.NaN, Number.NaN], [1, 1, 0, 0], { ok: 1, failed: 1, pending: 0 })],
      plan,
      (room) => (room === 0 ? 2 : 0),
      startUs,
    );
    // Burst 0 only: its last arrival (11,900, in worker 1) minus its first scheduled send (10,000 + 0).
    expect(latencyStats(merged.burstCompletion)).toMatchObject({ count: 1, min: 1900, max: 1900 });
    // Spread per message that reached its audience: 50 and 700.
    expect(latencyStats(merged.fanOutSpread)).toMatchObject({ count: 2, min: 50, max: 700 });
    expect(merged.subscriberBursts).toEqual({ ok: 3, failed: 1, pending: 1 });
  });
});

describe('SubscriberPool', () => {
  it('opens exactly the asked counts over 2 workers, step after step (10 -> 50 -> 100), and matches every delivery', async () => {
    const url = await cleanup.server();
    const runId = 'pooltest';
    const target = referenceTarget(url, 'ws', { runId });
    const provisioned = { rooms: ['pool-room'] };
    const pool = SubscriberPool.start(2, {
      transport: 'ws',
      profile: { builtIn: 'reference' },
      target,
      provisioned,
      reconnect: { baseMs: 10, maxMs: 100 },
      seed: 1,
      localAddresses: [],
      runId,
      deadlineUs: 10_000_000,
    });
    cleanup.add(() => pool.close());
    const publisher = referenceProfile.publisher(target, provisioned);
    cleanup.add(() => publisher.close());

    let held = 0;
    for (const step of [10, 50, 100]) {
      const specs = Array.from({ length: step - held }, (_, i) => ({ index: held + i, room: 0 }));
      const connect = await pool.connect(specs, 7);
      expect(connect.ok).toBe(step - held);
      expect(connect.failed).toEqual({});
      expect(latencyStats(connect.connectUs).count).toBe(step - held);
      held = step;
      expect((await pool.warmStatus()).held).toBe(step);

      const plan = stepPlan(3, 100, 1);
      const startUs = nowUs() + 20_000;
      await pool.measure(plan, startUs);
      await publishOnSchedule(
        publisher,
        plan.map((m) => ({ seq: m.seq, room: 0, scheduledUs: startUs + m.offsetUs, content: encodeMarker({ runId, seq: m.seq, group: m.group, scheduledUs: startUs + m.offsetUs }) })),
        { onSendStart: () => {}, onSendDone: () => {} },
        new AbortController().signal,
      );
      expect(await pool.waitComplete(nowUs() + 10_000_000)).toBe(true);
      const merged = mergeStep(await pool.results(plan.map((m) => m.seq)), plan, () => step);
      expect(merged.messages).toMatchObject({ expected: 3 * step, received: 3 * step, lost: 0, duplicated: 0 });
      expect(latencyStats(merged.perMessage).count).toBe(3 * step);
      expect(latencyStats(merged.fanOutSpread).count).toBe(3);
      expect(merged.connected).toBe(step);
    }
  });
});
