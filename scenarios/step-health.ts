import { availableParallelism } from 'node:os';
import type { ProcessUsage, SampleRow } from '../core/result.js';
import { usageOfRows } from '../engine/sampler.js';
import { saturation } from '../engine/saturation.js';
import type { ThreadHealth } from '../engine/worker/pool.js';

/** A subscriber worker thread busy more than this share of a tick, or its callbacks this late, limits the numbers. */
export const WORKER_UTILIZATION_LIMIT = 0.9;
export const WORKER_LOOP_DELAY_LIMIT_US = 20_000;

export interface StepHealth {
  readonly server: ProcessUsage;
  readonly generator: ProcessUsage & { readonly saturated: boolean; readonly saturationReasons: readonly string[]; readonly workerUtilizationMax: number; readonly workerEventLoopDelayP99UsMax: number };
}

/**
 * Server and generator resources over one step's seconds (the samples tagged with that step), and
 * whether the generator limited the step: its process CPU over the cores its threads can use, the
 * publisher's send lag, and each subscriber thread's load and event-loop delay.
 */
export function stepHealth(rows: readonly SampleRow[], step: number, workers: number, sendLagP99Us: number | null, threads: ThreadHealth): StepHealth {
  const stepRows = rows.filter((row) => row.step === step);
  const server = usageOfRows(stepRows, 'server');
  const generator = usageOfRows(stepRows, 'generator');
  // The publisher thread plus the workers can use at most this many cores of the machine.
  const usableCores = Math.min(workers + 1, availableParallelism());
  const reasons = saturation(generator, 0, sendLagP99Us, null, usableCores).reasons;
  if (threads.utilizationMax > WORKER_UTILIZATION_LIMIT) reasons.push(`a subscriber worker thread was ${Math.round(threads.utilizationMax * 100)}% busy (limit ${WORKER_UTILIZATION_LIMIT * 100}%)`);
  if (threads.eventLoopDelayP99UsMax > WORKER_LOOP_DELAY_LIMIT_US) reasons.push(`a subscriber worker's event-loop delay p99 reached ${(threads.eventLoopDelayP99UsMax / 1000).toFixed(1)} ms`);
  return {
    server,
    generator: {
      ...generator,
      saturated: reasons.length > 0,
      saturationReasons: reasons,
      workerUtilizationMax: Math.round(threads.utilizationMax * 100) / 100,
      workerEventLoopDelayP99UsMax: threads.eventLoopDelayP99UsMax,
    },
  };
}
