import { type Histogram, type LatencyStats, encodeHistogram, latencyStats, newHistogram, recordUs } from '../core/histogram.js';
import { LATENCY_KINDS, type LatencyKind, type RecorderResult } from '../core/result.js';
import { MarkerFields, WARMUP_GROUP, readMarker } from '../core/marker.js';

/** One message the publisher will send, known before the run starts. */
export interface PlannedMessage {
  readonly seq: number;
  /** Burst index. Messages of one group are judged together for burst completion and ok/failed. */
  readonly group: number;
  /** Scheduled send time relative to the measurement's start (see `Recorder.begin`). */
  readonly offsetUs: number;
  /** Room index the message is published to; only that room's subscribers expect it. Default 0. */
  readonly room?: number;
}

/** Per-message first and last in-time arrival and arrival count, to merge fan-out spread across workers. */
export interface ArrivalTimes {
  readonly firstUs: Float64Array;
  readonly lastUs: Float64Array;
  readonly count: Uint32Array;
}

const NOT_RECEIVED = 0;
const IN_TIME = 1;
const LATE = 2;

/**
 * Matches every received message to (subscriber, sequence number) and turns arrivals into exact
 * counts and latency histograms. All state is flat typed arrays indexed by sequence number, so the
 * cost per arrival is constant and nothing from one burst can be credited to another.
 */
export class Recorder {
  readonly runId: string;
  readonly subscriberCount: number;
  readonly deadlineUs: number;
  private readonly plan: readonly PlannedMessage[];
  /** Absolute scheduled time of the first offset; NaN until `begin`, so nothing is matched before. */
  private startUs = Number.NaN;
  private ended = false;
  private readonly histograms: Record<LatencyKind, Histogram>;
  private readonly state: Uint8Array;
  private readonly maxSeqBySubscriber: Int32Array;
  private readonly attempted: Uint8Array;
  private attemptedCount = 0;
  private readonly firstArrivalUs: Float64Array;
  private readonly lastArrivalUs: Float64Array;
  private readonly arrivalsInTime: Uint32Array;
  private readonly groupFirstOffsetUs: Map<number, number> = new Map();
  private readonly groupSize: Map<number, number> = new Map();
  /** Deliveries a group needs to be complete: its messages times their rooms' subscribers. */
  private readonly groupExpected: Map<number, number> = new Map();
  private readonly roomOfSubscriber: Uint32Array;
  private readonly subscribersInRoom: Map<number, number> = new Map();
  private readonly expectedDeliveries: number;
  private readonly groupLastArrivalUs: Map<number, number> = new Map();
  private readonly groupArrivals: Map<number, number> = new Map();
  private readonly warmedUp: Uint8Array;
  private warmedUpCount = 0;
  private readonly errorCounts = new Map<string, number>();
  /** The first content that carried no marker of this run, cut to 80 characters. */
  private firstForeign = '';
  private readonly waiters: Array<() => void> = [];
  /** The marker of the arrival being recorded. */
  private readonly marker = new MarkerFields();
  private counts = { received: 0, late: 0, duplicated: 0, outOfOrder: 0, foreign: 0 };
  /** Total arrivals of any kind; the per-second sampler reads the difference. */
  arrivals = 0;

  /**
   * `subscriberRooms[i]` is the room of subscriber i (all in room 0 when only `subscriberCount` is
   * given). A subscriber expects exactly the planned messages of its own room.
   */
  constructor(options: {
    runId: string;
    plan: readonly PlannedMessage[];
    deadlineUs: number;
    subscriberCount?: number;
    subscriberRooms?: readonly number[];
  }) {
    this.runId = options.runId;
    this.roomOfSubscriber = Uint32Array.from(options.subscriberRooms ?? new Array<number>(options.subscriberCount ?? 0).fill(0));
    this.subscriberCount = this.roomOfSubscriber.length;
    for (const room of this.roomOfSubscriber) this.subscribersInRoom.set(room, (this.subscribersInRoom.get(room) ?? 0) + 1);
    this.deadlineUs = options.deadlineUs;
    this.plan = options.plan;
    let expected = 0;
    options.plan.forEach((message, index) => {
      if (message.seq !== index) throw new RangeError(`plan[${index}].seq must be ${index}, got ${message.seq}`);
      const first = this.groupFirstOffsetUs.get(message.group);
      if (first === undefined || message.offsetUs < first) this.groupFirstOffsetUs.set(message.group, message.offsetUs);
      this.groupSize.set(message.group, (this.groupSize.get(message.group) ?? 0) + 1);
      const audience = this.subscribersInRoom.get(message.room ?? 0) ?? 0;
      this.groupExpected.set(message.group, (this.groupExpected.get(message.group) ?? 0) + audience);
      expected += audience;
    });
    this.expectedDeliveries = expected;
    const messageCount = options.plan.length;
    this.state = new Uint8Array(this.subscriberCount * messageCount);
    this.maxSeqBySubscriber = new Int32Array(this.subscriberCount).fill(-1);
    this.attempted = new Uint8Array(messageCount);
    this.firstArrivalUs = new Float64Array(messageCount).fill(Number.NaN);
    this.lastArrivalUs = new Float64Array(messageCount);
    this.arrivalsInTime = new Uint32Array(messageCount);
    this.warmedUp = new Uint8Array(this.subscriberCount);
    this.histograms = {
      perMessage: newHistogram(),
      burstCompletion: newHistogram(),
      fanOutSpread: newHistogram(),
      publishRtt: newHistogram(),
      sendLag: newHistogram(),
    };
  }

  /** Fixes the schedule: message `seq` is due at `startUs + plan[seq].offsetUs`. */
  begin(startUs: number): void {
    this.startUs = startUs;
  }

  /** Marks the end of the measured window (after the drain), before subscribers are closed. */
  end(): void {
    this.ended = true;
  }

  /** True between `begin` and `end`: the seconds whose resources are judged for saturation. */
  get measuring(): boolean {
    return !Number.isNaN(this.startUs) && !this.ended;
  }

  /** The publisher calls this when it actually starts sending `seq`. */
  recordSendStart(seq: number, actualUs: number): void {
    const planned = this.plan[seq];
    if (!planned || this.attempted[seq]) return;
    this.markAttempted(seq);
    recordUs(this.histograms.sendLag, actualUs - (this.startUs + planned.offsetUs));
  }

  /** Marks `seq` as sent (a worker learns it from the publisher's recorder): only sent messages are expected. */
  markAttempted(seq: number): void {
    if (seq < 0 || seq >= this.plan.length || this.attempted[seq]) return;
    this.attempted[seq] = 1;
    this.attemptedCount++;
  }

  /** Sequence numbers whose send was attempted. */
  attemptedSeqs(): number[] {
    const seqs: number[] = [];
    this.attempted.forEach((flag, seq) => flag && seqs.push(seq));
    return seqs;
  }

  recordPublishDone(rttUs: number, errorCode: string | null): void {
    if (errorCode === null) recordUs(this.histograms.publishRtt, rttUs);
    else this.countError(`publish:${errorCode}`);
  }

  /**
   * What arrived that was not a message of this run, and what went wrong, in words: why a
   * subscription may have received no warm-up message (a profile whose `read()` returns the wrong
   * content, frames of an unknown kind, a server closing the socket). Empty when nothing did.
   */
  whatElseArrived(): string {
    const parts: string[] = [];
    if (this.counts.foreign > 0) parts.push(`${this.counts.foreign} message(s) without this run's marker in their content, the first ${JSON.stringify(this.firstForeign)}`);
    if (this.errorCounts.size > 0) parts.push(`errors ${[...this.errorCounts].map(([code, n]) => `${code} x${n}`).join(', ')}`);
    return parts.join('; ');
  }

  /** Whether any message without this run's marker arrived (a profile that reads the wrong text). */
  foreignArrived(): boolean {
    return this.counts.foreign > 0;
  }

  countError(code: string): void {
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
  }

  /**
   * Called by a subscriber for every message it receives, with the time it received it. Returns the
   * message's latency (µs) when it is one of this subscriber's planned messages (in time, late or a
   * duplicate), NaN otherwise: the caller's own-delay meter needs to know when it was sent.
   */
  recordArrival(subscriber: number, content: string, receivedUs: number): number {
    this.arrivals++;
    const marker = this.marker;
    if (readMarker(content, marker, this.runId) < 0 || subscriber < 0 || subscriber >= this.subscriberCount) {
      if (this.counts.foreign === 0) this.firstForeign = content.length > 80 ? `${content.slice(0, 80)}...` : content;
      this.counts.foreign++;
      return Number.NaN;
    }
    if (marker.group === WARMUP_GROUP) {
      if (!this.warmedUp[subscriber]) {
        this.warmedUp[subscriber] = 1;
        this.warmedUpCount++;
        this.wake();
      }
      return Number.NaN;
    }
    const planned = this.plan[marker.seq];
    const scheduledUs = this.startUs + (planned?.offsetUs ?? Number.NaN);
    // A message of another room, or with a schedule that is not the plan's, is not this subscriber's.
    if (!planned || scheduledUs !== marker.scheduledUs || planned.group !== marker.group || (planned.room ?? 0) !== this.roomOfSubscriber[subscriber]) {
      this.counts.foreign++;
      return Number.NaN;
    }
    const seq = marker.seq;
    const slot = subscriber * this.plan.length + seq;
    if (this.state[slot] !== NOT_RECEIVED) {
      this.counts.duplicated++;
      return receivedUs - scheduledUs;
    }
    if (seq < (this.maxSeqBySubscriber[subscriber] ?? -1)) this.counts.outOfOrder++;
    else this.maxSeqBySubscriber[subscriber] = seq;

    const latencyUs = receivedUs - scheduledUs;
    if (latencyUs > this.deadlineUs) {
      // Past its deadline a message is lost for good: it is not credited to any latency figure.
      this.state[slot] = LATE;
      this.counts.late++;
      return latencyUs;
    }
    this.state[slot] = IN_TIME;
    this.counts.received++;
    recordUs(this.histograms.perMessage, latencyUs);
    this.recordFanOut(seq, planned.room ?? 0, receivedUs);
    this.recordGroup(planned.group, receivedUs);
    if (this.counts.received === this.expectedDeliveries) this.wake();
    return latencyUs;
  }

  private recordFanOut(seq: number, room: number, receivedUs: number): void {
    if (Number.isNaN(this.firstArrivalUs[seq])) this.firstArrivalUs[seq] = receivedUs;
    this.lastArrivalUs[seq] = receivedUs;
    const arrivals = (this.arrivalsInTime[seq] ?? 0) + 1;
    this.arrivalsInTime[seq] = arrivals;
    if (arrivals === this.subscribersInRoom.get(room)) {
      recordUs(this.histograms.fanOutSpread, receivedUs - (this.firstArrivalUs[seq] ?? receivedUs));
    }
  }

  private recordGroup(group: number, receivedUs: number): void {
    const last = Math.max(this.groupLastArrivalUs.get(group) ?? 0, receivedUs);
    this.groupLastArrivalUs.set(group, last);
    const arrivals = (this.groupArrivals.get(group) ?? 0) + 1;
    this.groupArrivals.set(group, arrivals);
    if (arrivals === this.groupExpected.get(group)) {
      recordUs(this.histograms.burstCompletion, last - (this.startUs + (this.groupFirstOffsetUs.get(group) ?? 0)));
    }
  }

  get warmedUpSubscribers(): number {
    return this.warmedUpCount;
  }

  get receivedInTime(): number {
    return this.counts.received;
  }

  /** True when every planned message reached every subscriber in time. */
  get complete(): boolean {
    return this.counts.received === this.expectedDeliveries;
  }

  /** Resolves on the next change that `check` may care about; used instead of polling timers. */
  waitFor(check: () => boolean, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const poll = (): void => {
        if (check() || signal.aborted) resolve();
        else this.waiters.push(poll);
      };
      signal.addEventListener('abort', () => this.wake(), { once: true });
      poll();
    });
  }

  private wake(): void {
    const waiting = this.waiters.splice(0);
    for (const waiter of waiting) waiter();
  }

  /** Snapshot at `nowUs`: a message not received and not yet due is pending, not lost. */
  result(nowUs: number): RecorderResult {
    const messageCount = this.plan.length;
    let pending = 0;
    let expected = 0;
    let ok = 0;
    let failed = 0;
    let pendingPairs = 0;
    const attemptedByGroup = new Map<number, number>();
    for (const planned of this.plan) {
      if (this.attempted[planned.seq]) attemptedByGroup.set(planned.group, (attemptedByGroup.get(planned.group) ?? 0) + 1);
    }
    for (let s = 0; s < this.subscriberCount; s++) {
      const groupOk = new Map<number, boolean>();
      const groupPending = new Set<number>();
      const room = this.roomOfSubscriber[s];
      for (let seq = 0; seq < messageCount; seq++) {
        const planned = this.plan[seq] as PlannedMessage;
        if (!this.attempted[seq] || (planned.room ?? 0) !== room) continue;
        const state = this.state[s * messageCount + seq];
        const due = nowUs >= this.startUs + planned.offsetUs + this.deadlineUs;
        if (state === NOT_RECEIVED && !due) {
          pending++;
          groupPending.add(planned.group);
          continue;
        }
        expected++;
        const okSoFar = groupOk.get(planned.group) ?? true;
        groupOk.set(planned.group, okSoFar && state === IN_TIME);
      }
      for (const [group, wasOk] of groupOk) {
        // A burst cut short by an interrupt, or still inside its deadline, is not judged.
        if (groupPending.has(group) || attemptedByGroup.get(group) !== this.groupSize.get(group)) {
          groupPending.add(group);
          continue;
        }
        if (wasOk) ok++;
        else failed++;
      }
      pendingPairs += groupPending.size;
    }
    const lost = expected - this.counts.received;
    const latencyUs = {} as Record<LatencyKind, LatencyStats>;
    const histograms = {} as Record<LatencyKind, string>;
    for (const kind of LATENCY_KINDS) {
      latencyUs[kind] = latencyStats(this.histograms[kind]);
      histograms[kind] = encodeHistogram(this.histograms[kind]);
    }
    return {
      messages: {
        expected,
        received: this.counts.received,
        lost,
        late: this.counts.late,
        duplicated: this.counts.duplicated,
        outOfOrder: this.counts.outOfOrder,
        pending,
        foreign: this.counts.foreign,
      },
      subscriberBursts: { ok, failed, pending: pendingPairs },
      latencyUs,
      histograms,
      errors: Object.fromEntries([...this.errorCounts].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  /** Per-message arrival times, for merging fan-out spread across workers (see `mergeFanOut`). */
  arrivalTimes(): ArrivalTimes {
    return { firstUs: this.firstArrivalUs, lastUs: this.lastArrivalUs, count: this.arrivalsInTime };
  }

  get attemptedMessages(): number {
    return this.attemptedCount;
  }
}
