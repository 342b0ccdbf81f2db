import { encodeHistogram, latencyStats, mergeEncoded, type LatencyStats } from '../core/histogram.js';
import { LATENCY_KINDS, type LatencyKind, type MessageCounts, type RecorderResult } from '../core/result.js';
import type { MergedStep } from './worker/pool.js';

export function emptyCounts(): Record<keyof MessageCounts, number> {
  return { expected: 0, received: 0, lost: 0, late: 0, duplicated: 0, outOfOrder: 0, pending: 0, foreign: 0 };
}

export function addCounts(into: Record<keyof MessageCounts, number>, add: MessageCounts): void {
  for (const key of Object.keys(into) as Array<keyof MessageCounts>) into[key] += add[key];
}

export function addErrors(into: Record<string, number>, add: Readonly<Record<string, number>>, prefix = ''): void {
  for (const [code, n] of Object.entries(add)) into[`${prefix}${code}`] = (into[`${prefix}${code}`] ?? 0) + n;
}

/** Counts by code that grew from `before` to `after` (cumulative counters), each by how much, prefixed. */
export function errorsSince(after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>, prefix = ''): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [code, n] of Object.entries(after)) {
    const delta = n - (before[code] ?? 0);
    if (delta > 0) grown[`${prefix}${code}`] = delta;
  }
  return grown;
}

/**
 * Folds one more encoded histogram into `into`, which then holds a single encoded histogram of
 * everything folded so far. A long run that keeps one histogram per round and merges them all at
 * every checkpoint does work (and allocation) that grows with its length; this keeps it constant.
 */
export function foldEncoded(into: string[], next: string): void {
  const merged = encodeHistogram(mergeEncoded([...into, next]));
  into.length = 0;
  into.push(merged);
}

/**
 * One result from many measured rounds (ramp steps, soak intervals, fault windows): counts added,
 * each latency kind's encoded histograms merged. Each message is its own group in those scenarios,
 * so subscriber x group pairs are deliveries.
 */
export function aggregateResult(
  counts: MessageCounts,
  histograms: Partial<Record<LatencyKind, readonly string[]>>,
  errors: Readonly<Record<string, number>>,
): RecorderResult {
  const latencyUs = {} as Record<LatencyKind, LatencyStats>;
  const encoded = {} as Record<LatencyKind, string>;
  for (const kind of LATENCY_KINDS) {
    const merged = mergeEncoded(histograms[kind] ?? []);
    latencyUs[kind] = latencyStats(merged);
    encoded[kind] = encodeHistogram(merged);
  }
  return {
    messages: { ...counts },
    subscriberBursts: { ok: counts.received, failed: counts.lost, pending: counts.pending },
    latencyUs,
    histograms: encoded,
    errors: { ...errors },
  };
}

/** What one measured round hands the totals: the workers' merged step and the publisher's result. */
export interface RoundParts {
  readonly merged: Pick<MergedStep, 'messages' | 'perMessage' | 'fanOutSpread' | 'reconnects' | 'gaps' | 'sends'>;
  readonly publish: { readonly histograms: Pick<RecorderResult['histograms'], 'publishRtt' | 'sendLag'> };
}

/** A transport's result over many measured rounds, added up round by round. */
export class RoundTotals {
  private readonly counts = emptyCounts();
  private readonly errors: Record<string, number> = {};
  private readonly histograms: Record<LatencyKind, string[]> = { perMessage: [], burstCompletion: [], fanOutSpread: [], publishRtt: [], sendLag: [] };
  /** The subscribers' reconnects, gaps and sends as of the latest round (the workers count them from the start). */
  connections = { reconnects: 0, gaps: 0, sends: 0 };

  add(round: RoundParts, errors: Readonly<Record<string, number>>): void {
    const { merged, publish } = round;
    addCounts(this.counts, merged.messages);
    addErrors(this.errors, errors);
    this.histograms.perMessage.push(encodeHistogram(merged.perMessage));
    this.histograms.fanOutSpread.push(encodeHistogram(merged.fanOutSpread));
    this.histograms.publishRtt.push(publish.histograms.publishRtt);
    this.histograms.sendLag.push(publish.histograms.sendLag);
    this.connections = { reconnects: merged.reconnects, gaps: merged.gaps, sends: merged.sends };
  }

  addErrors(errors: Readonly<Record<string, number>>, prefix = ''): void {
    addErrors(this.errors, errors, prefix);
  }

  result(): RecorderResult {
    return aggregateResult(this.counts, this.histograms, this.errors);
  }
}
