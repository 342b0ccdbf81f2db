import { describe, expect, it } from 'vitest';
import { WARMUP_GROUP, encodeMarker } from '../core/marker.js';
import { Recorder } from '../load/recorder.js';
import { burstPlan } from '../scenarios/burst.js';

const RUN = 'testrun1';
const START_US = 1_000_000_000;
const DEADLINE_US = 10_000_000;

/** 2 bursts of 3 messages, 50 ms apart, 100 ms pause: offsets 0, 50, 100 ms and 200, 250, 300 ms. */
function setup(subscribers = 2): { recorder: Recorder; content: (seq: number) => string; due: (seq: number) => number } {
  const plan = burstPlan({ bursts: 2, burstSize: 3, gapMs: 50, pauseMs: 100 });
  const recorder = new Recorder({ runId: RUN, subscriberCount: subscribers, plan, deadlineUs: DEADLINE_US });
  recorder.begin(START_US);
  for (const m of plan) recorder.recordSendStart(m.seq, START_US + m.offsetUs + 100);
  const content = (seq: number): string =>
    encodeMarker({ runId: RUN, seq, group: plan[seq]!.group, scheduledUs: START_US + plan[seq]!.offsetUs });
  return { recorder, content, due: (seq) => START_US + plan[seq]!.offsetUs };
}

describe('Recorder', () => {
  it('plans bursts on a fixed schedule', () => {
    expect(burstPlan({ bursts: 2, burstSize: 3, gapMs: 50, pauseMs: 100 }).map((m) => [m.group, m.offsetUs])).toEqual([
      [0, 0], [0, 50_000], [0, 100_000], [1, 200_000], [1, 250_000], [1, 300_000],
    ]);
  });

  it('counts a clean run exactly, with latency from the scheduled send', () => {
    const { recorder, content, due } = setup();
    for (let seq = 0; seq < 6; seq++) {
      recorder.recordArrival(0, content(seq), due(seq) + 1000);
      recorder.recordArrival(1, content(seq), due(seq) + 3000);
    }
    expect(recorder.complete).toBe(true);
    const result = recorder.result(due(5) + DEADLINE_US + 1);
    expect(result.messages).toEqual({ expected: 12, received: 12, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 });
    expect(result.subscriberBursts).toEqual({ ok: 4, failed: 0, pending: 0 });
    // HDR keeps 3 significant digits: a value may be reported up to 0.1% above what was recorded.
    expect(result.latencyUs.perMessage).toMatchObject({ count: 12, min: 1000, p50: 1000 });
    expect(result.latencyUs.perMessage.max! - 3000).toBeLessThanOrEqual(3);
    // Fan-out spread: 2 ms between the two subscribers, for each of the 6 messages.
    expect(result.latencyUs.fanOutSpread).toMatchObject({ count: 6, min: 2000, p50: 2000 });
    // Burst completion: from the burst's first scheduled send to its last arrival anywhere (100 ms + 3 ms).
    expect(result.latencyUs.burstCompletion.count).toBe(2);
    expect(Math.abs(result.latencyUs.burstCompletion.min! - 103_000)).toBeLessThanOrEqual(103);
    expect(Math.abs(result.latencyUs.burstCompletion.max! - 103_000)).toBeLessThanOrEqual(103);
    expect(result.latencyUs.sendLag).toMatchObject({ count: 6, min: 100, max: 100 });
    expect(Math.abs(result.latencyUs.perMessage.mean! - 2000)).toBeLessThanOrEqual(2);
  });

  it('counts lost, late, duplicated, out-of-order and foreign messages exactly', () => {
    const { recorder, content, due } = setup();
    // Subscriber 0: gets 0, 2, 1 (1 out of order), 2 again (duplicate), 3 late, never 4; 5 fine.
    recorder.recordArrival(0, content(0), due(0) + 500);
    recorder.recordArrival(0, content(2), due(2) + 500);
    recorder.recordArrival(0, content(1), due(1) + 60_000);
    recorder.recordArrival(0, content(2), due(2) + 900);
    recorder.recordArrival(0, content(3), due(3) + DEADLINE_US + 1);
    recorder.recordArrival(0, content(5), due(5) + 500);
    // Subscriber 1: everything, once, in order.
    for (let seq = 0; seq < 6; seq++) recorder.recordArrival(1, content(seq), due(seq) + 700);
    // Traffic that is not ours: another run, plain text, a tampered schedule, a subscriber out of range.
    recorder.recordArrival(1, encodeMarker({ runId: 'otherrun', seq: 0, group: 0, scheduledUs: due(0) }), due(0));
    recorder.recordArrival(1, 'hello', due(0));
    recorder.recordArrival(1, encodeMarker({ runId: RUN, seq: 0, group: 0, scheduledUs: due(0) + 1 }), due(0));
    recorder.recordArrival(9, content(0), due(0));
    // Warm-up messages are never counted.
    recorder.recordArrival(0, encodeMarker({ runId: RUN, seq: 0, group: WARMUP_GROUP, scheduledUs: 1 }), due(0));

    const result = recorder.result(due(5) + DEADLINE_US + 1);
    expect(result.messages).toEqual({ expected: 12, received: 10, lost: 2, late: 1, duplicated: 1, outOfOrder: 1, pending: 0, foreign: 4 });
    // Subscriber 0 missed parts of burst 1; everything else is whole.
    expect(result.subscriberBursts).toEqual({ ok: 3, failed: 1, pending: 0 });
    expect(result.latencyUs.perMessage.count).toBe(10);
    // The late message is in no latency figure; messages 3 and 4 did not reach everyone, so no spread.
    expect(result.latencyUs.fanOutSpread.count).toBe(4);
    expect(result.latencyUs.burstCompletion.count).toBe(1);
  });

  it('never credits a late message to a later burst', () => {
    const { recorder, content, due } = setup(1);
    // Burst 0 arrives 20 s late, after burst 1 arrived on time.
    for (const seq of [3, 4, 5]) recorder.recordArrival(0, content(seq), due(seq) + 1000);
    for (const seq of [0, 1, 2]) recorder.recordArrival(0, content(seq), due(seq) + 20_000_000);
    const result = recorder.result(due(5) + DEADLINE_US + 1);
    expect(result.messages).toMatchObject({ received: 3, lost: 3, late: 3, outOfOrder: 3 });
    expect(result.subscriberBursts).toEqual({ ok: 1, failed: 1, pending: 0 });
    expect(result.latencyUs.perMessage.max).toBe(1000);
  });

  it('counts a message not yet due as pending, not lost, when a run stops early', () => {
    const { recorder, content, due } = setup(1);
    recorder.recordArrival(0, content(0), due(0) + 10);
    const result = recorder.result(due(5) + 1);
    expect(result.messages).toMatchObject({ expected: 1, received: 1, lost: 0, pending: 5 });
    expect(result.subscriberBursts).toEqual({ ok: 0, failed: 0, pending: 2 });
  });

  it('ignores messages that arrive before measuring begins', () => {
    const plan = burstPlan({ bursts: 1, burstSize: 1, gapMs: 0, pauseMs: 0 });
    const recorder = new Recorder({ runId: RUN, subscriberCount: 1, plan, deadlineUs: DEADLINE_US });
    recorder.recordArrival(0, encodeMarker({ runId: RUN, seq: 0, group: 0, scheduledUs: 5 }), 10);
    expect(recorder.result(20).messages.foreign).toBe(1);
  });

  it('counts publish failures by code', () => {
    const { recorder } = setup(1);
    recorder.recordPublishDone(1500, null);
    recorder.recordPublishDone(0, 'HTTP_503');
    recorder.recordPublishDone(0, 'HTTP_503');
    const result = recorder.result(0);
    expect(result.errors).toEqual({ 'publish:HTTP_503': 2 });
    expect(result.latencyUs.publishRtt.count).toBe(1);
  });

  it('judges a missing message lost exactly at its deadline, pending one microsecond before', () => {
    const { recorder, content, due } = setup(1);
    for (let seq = 0; seq < 5; seq++) recorder.recordArrival(0, content(seq), due(seq) + 10);
    // Message 5 never arrives.
    expect(recorder.result(due(5) + DEADLINE_US - 1).messages).toMatchObject({ expected: 5, received: 5, lost: 0, pending: 1 });
    expect(recorder.result(due(5) + DEADLINE_US).messages).toMatchObject({ expected: 6, received: 5, lost: 1, pending: 0 });
    expect(recorder.result(due(5) + DEADLINE_US).subscriberBursts).toEqual({ ok: 1, failed: 1, pending: 0 });
  });

  it('counts a second copy of a late message as a duplicate, not as a second late one', () => {
    const { recorder, content, due } = setup(1);
    recorder.recordArrival(0, content(1), due(1) + DEADLINE_US + 5);
    recorder.recordArrival(0, content(1), due(1) + DEADLINE_US + 9);
    const result = recorder.result(due(5) + DEADLINE_US);
    expect(result.messages).toMatchObject({ received: 0, late: 1, lost: 6, duplicated: 1 });
  });

  it('counts an arrival exactly at the deadline as received, one microsecond later as late', () => {
    const { recorder, content, due } = setup(1);
    recorder.recordArrival(0, content(0), due(0) + DEADLINE_US);
    recorder.recordArrival(0, content(1), due(1) + DEADLINE_US + 1);
    const result = recorder.result(due(5) + DEADLINE_US);
    expect(result.messages).toMatchObject({ received: 1, late: 1, lost: 5 });
    expect(result.latencyUs.perMessage.count).toBe(1);
  });

  it('expects only messages whose send was attempted, and only from the subscribers of their room', () => {
    const plan = [
      { seq: 0, group: 0, offsetUs: 0, room: 0 },
      { seq: 1, group: 1, offsetUs: 1000, room: 1 },
      { seq: 2, group: 2, offsetUs: 2000, room: 1 },
    ];
    const recorder = new Recorder({ runId: RUN, plan, deadlineUs: DEADLINE_US, subscriberRooms: [0, 1, 1] });
    recorder.begin(START_US);
    recorder.recordSendStart(0, START_US);
    recorder.recordSendStart(1, START_US + 1000);
    const marker = (seq: number) => encodeMarker({ runId: RUN, seq, group: plan[seq]!.group, scheduledUs: START_US + plan[seq]!.offsetUs });
    recorder.recordArrival(0, marker(0), START_US + 100);
    recorder.recordArrival(1, marker(1), START_US + 1100);
    // A message of room 1 arriving at room 0's subscriber is not its message.
    recorder.recordArrival(0, marker(1), START_US + 1100);
    const result = recorder.result(START_US + 10 * DEADLINE_US);
    // Subscriber 2 never got message 1; message 2 was never sent, so nobody expects it.
    expect(result.messages).toEqual({ expected: 3, received: 2, lost: 1, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 1 });
    expect(recorder.attemptedSeqs()).toEqual([0, 1]);
    expect(recorder.attemptedMessages).toBe(2);
    // A burst whose sends were not all attempted is not judged.
    expect(result.subscriberBursts).toEqual({ ok: 2, failed: 1, pending: 0 });
  });

  it('wakes a waiter when every expected delivery has arrived, and on abort', async () => {
    const { recorder, content, due } = setup(1);
    const controller = new AbortController();
    let woke = false;
    const waiting = recorder.waitFor(() => recorder.complete, controller.signal).then(() => (woke = true));
    for (let seq = 0; seq < 5; seq++) recorder.recordArrival(0, content(seq), due(seq) + 10);
    await Promise.resolve();
    expect(woke).toBe(false);
    recorder.recordArrival(0, content(5), due(5) + 10);
    await waiting;
    expect(woke).toBe(true);
    const other = setup(1).recorder;
    const aborted = new AbortController();
    const pending = other.waitFor(() => other.complete, aborted.signal);
    aborted.abort();
    await pending;
    expect(other.complete).toBe(false);
  });

  it('knows when it is measuring: from begin to end', () => {
    const recorder = new Recorder({ runId: RUN, subscriberCount: 1, plan: [], deadlineUs: 1 });
    expect(recorder.measuring).toBe(false);
    recorder.begin(5);
    expect(recorder.measuring).toBe(true);
    recorder.end();
    expect(recorder.measuring).toBe(false);
  });

  it('refuses a plan whose sequence numbers are not its positions', () => {
    expect(() => new Recorder({ runId: RUN, subscriberCount: 1, plan: [{ seq: 1, group: 0, offsetUs: 0 }], deadlineUs: 1 })).toThrow('plan[0].seq must be 0, got 1');
  });

  it('times a burst from its earliest scheduled message, whatever the plan order', () => {
    const plan = [
      { seq: 0, group: 0, offsetUs: 50_000 },
      { seq: 1, group: 0, offsetUs: 10_000 },
    ];
    const recorder = new Recorder({ runId: RUN, subscriberCount: 1, plan, deadlineUs: DEADLINE_US });
    recorder.begin(START_US);
    const marker = (seq: number) => encodeMarker({ runId: RUN, seq, group: 0, scheduledUs: START_US + plan[seq]!.offsetUs });
    recorder.recordArrival(0, marker(1), START_US + 11_000);
    recorder.recordArrival(0, marker(0), START_US + 52_000);
    // Last arrival (52 ms) minus the burst's earliest scheduled send (10 ms).
    const completion = recorder.result(START_US + DEADLINE_US * 2).latencyUs.burstCompletion;
    expect(completion.count).toBe(1);
    expect(Math.abs(completion.min! - 42_000)).toBeLessThanOrEqual(42);
  });

  it('takes each send once: a repeated or unknown send start changes nothing', () => {
    const plan = burstPlan({ bursts: 1, burstSize: 2, gapMs: 10, pauseMs: 0 });
    const recorder = new Recorder({ runId: RUN, subscriberCount: 1, plan, deadlineUs: DEADLINE_US });
    recorder.begin(START_US);
    recorder.recordSendStart(0, START_US + 300);
    recorder.recordSendStart(0, START_US + 9000);
    recorder.recordSendStart(7, START_US);
    recorder.markAttempted(-1);
    recorder.markAttempted(2);
    recorder.markAttempted(0);
    expect(recorder.attemptedMessages).toBe(1);
    expect(recorder.attemptedSeqs()).toEqual([0]);
    expect(recorder.result(START_US).latencyUs.sendLag).toMatchObject({ count: 1, min: 300, max: 300 });
    recorder.markAttempted(1);
    expect(recorder.attemptedSeqs()).toEqual([0, 1]);
  });

  it('counts every arrival, and each subscriber warmed up once however many warm-up messages it gets', async () => {
    const { recorder, content, due } = setup(2);
    const warm = (seq: number) => encodeMarker({ runId: RUN, seq, group: WARMUP_GROUP, scheduledUs: 1 });
    const controller = new AbortController();
    const allWarm = recorder.waitFor(() => recorder.warmedUpSubscribers === 2, controller.signal);
    recorder.recordArrival(0, warm(0), 5);
    recorder.recordArrival(0, warm(1), 6);
    expect(recorder.warmedUpSubscribers).toBe(1);
    recorder.recordArrival(1, warm(1), 7);
    await allWarm;
    expect(recorder.warmedUpSubscribers).toBe(2);
    recorder.recordArrival(-1, content(0), due(0));
    recorder.recordArrival(1, content(0), due(0) + 5);
    expect(recorder.arrivals).toBe(5);
    expect(recorder.receivedInTime).toBe(1);
    const result = recorder.result(due(5) + DEADLINE_US);
    expect(result.messages.foreign).toBe(1);
    expect(result.messages.received).toBe(1);
  });

  it('does not judge a burst until every one of its messages was sent', () => {
    const plan = burstPlan({ bursts: 1, burstSize: 2, gapMs: 10, pauseMs: 0 });
    const recorder = new Recorder({ runId: RUN, subscriberCount: 1, plan, deadlineUs: DEADLINE_US });
    recorder.begin(START_US);
    recorder.recordSendStart(0, START_US);
    recorder.recordArrival(0, encodeMarker({ runId: RUN, seq: 0, group: 0, scheduledUs: START_US }), START_US + 10);
    const result = recorder.result(START_US + 2 * DEADLINE_US);
    expect(result.messages).toMatchObject({ expected: 1, received: 1, lost: 0 });
    expect(result.subscriberBursts).toEqual({ ok: 0, failed: 0, pending: 1 });
  });

  it('lists errors by code in a stable order', () => {
    const { recorder } = setup(1);
    recorder.countError('subscriber:b');
    recorder.countError('publish:a');
    recorder.countError('subscriber:b');
    const errors = recorder.result(0).errors;
    expect(Object.entries(errors)).toEqual([['publish:a', 1], ['subscriber:b', 2]]);
  });

  it('keeps the first and last in-time arrival and the arrival count per message, for merging across workers', () => {
    const { recorder, content, due } = setup(2);
    recorder.recordArrival(1, content(0), due(0) + 700);
    recorder.recordArrival(0, content(0), due(0) + 900);
    recorder.recordArrival(0, content(1), due(1) + 100);
    const times = recorder.arrivalTimes();
    expect([times.firstUs[0], times.lastUs[0], times.count[0]]).toEqual([due(0) + 700, due(0) + 900, 2]);
    expect([times.firstUs[1], times.lastUs[1], times.count[1]]).toEqual([due(1) + 100, due(1) + 100, 1]);
    expect(times.count[2]).toBe(0);
  });
});

