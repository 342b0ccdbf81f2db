import { availableParallelism } from 'node:os';
import { latencyStats } from '../core/histogram.js';
import { ownDelayQuantileUs } from '../core/own-delay.js';
import type { StepGenerator } from '../core/details.js';
import type { ProcessUsage, SampleRow } from '../core/result.js';
import { cpuWaitOfArrivals, usageOfRows } from '../run/sampler.js';
import { ownDelayReason, saturation } from '../load/saturation.js';
import type { MergedStep, ThreadHealth } from '../load/worker/pool.js';

/** A subscriber worker thread busy more than this share of a tick limits the numbers. */
export const WORKER_UTILIZATION_LIMIT = 0.9;

export interface StepHealth {
  readonly server: ProcessUsage;
  readonly generator: StepGenerator;
}

const share = (partUs: number, ofUs: number | null): number | null => (ofUs ? Math.round((partUs / ofUs) * 100) / 100 : null);

/**
 * Server and generator resources over one step's seconds (the samples tagged with that step), and
 * whether the generator limited the step: its process CPU over the cores its threads can use, the
 * publisher's send lag, each subscriber thread's load, and the workers' own timestamping delay
 * against the step's p99. A worker's event-loop delay is reported, not judged: what its own
 * handlers cause is in the bound, and the rest is the machine (see load/saturation.ts).
 */
export function stepHealth(rows: Iterable<SampleRow>, step: number, workers: number, sendLagP99Us: number | null, threads: ThreadHealth, merged: Pick<MergedStep, 'perMessage' | 'fanOutSpread' | 'ownDelay'>): StepHealth {
  const stepRows = [...rows].filter((row) => row.step === step);
  const server = usageOfRows(stepRows, 'server');
  const generator = usageOfRows(stepRows, 'generator');
  // The publisher thread plus the workers can use at most this many cores of the machine.
  const usableCores = Math.min(workers + 1, availableParallelism());
  const ownDelayUs = ownDelayQuantileUs(merged.ownDelay, 0.99);
  const p99Us = latencyStats(merged.perMessage).p99;
  const spreadP99Us = latencyStats(merged.fanOutSpread).p99;
  const reasons = saturation(generator, null, { lagP99Us: sendLagP99Us, latencyP99Us: p99Us }, null, usableCores).reasons;
  const own = ownDelayUs === null ? null : ownDelayReason({ boundUs: ownDelayUs, p99Us }, 'a subscriber worker');
  if (own) reasons.push(own);
  if (threads.utilizationMax > WORKER_UTILIZATION_LIMIT) reasons.push(`a subscriber worker thread was ${Math.round(threads.utilizationMax * 100)}% busy (limit ${WORKER_UTILIZATION_LIMIT * 100}%)`);
  return {
    server,
    generator: {
      ...generator,
      saturated: reasons.length > 0,
      saturationReasons: reasons,
      workerUtilizationMax: Math.round(threads.utilizationMax * 100) / 100,
      workerGcPauseUsMax: threads.gcPauseUsMax,
      cpuWaitUsMax: cpuWaitOfArrivals(stepRows),
      ownDelayUs,
      ownDelayLongestUs: merged.ownDelay.longestUs,
      ownDelayShareOfSpreadP99: ownDelayUs === null ? null : share(ownDelayUs, spreadP99Us),
      ownDelayShareOfP99: ownDelayUs === null ? null : share(ownDelayUs, p99Us),
    },
  };
}
