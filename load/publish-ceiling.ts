import { nowUs } from '../core/clock.js';
import { encodeMarker } from '../core/marker.js';
import type { PublishChannel } from '../targets/types.js';
import { publishOnSchedule } from './publisher.js';
import { planSchedule } from './send-schedule.js';
import { Recorder } from './recorder.js';
import { SEND_LAG_LIMIT_US } from './saturation.js';
import type { PublishStep } from '../core/details.js';
export type { PublishStep } from '../core/details.js';

/** A publish rate is offered on schedule when its send lag p99 stays within this. */
export const PUBLISH_LAG_LIMIT_US = 2_000;
export const PUBLISH_RATES = [1000, 2000, 5000, 10_000, 20_000, 40_000] as const;
const LEAD_US = 100_000;

/**
 * The publisher alone, open loop, at rising rates for `seconds` each, as the scenarios publish
 * (sleeping before sends, the subscribers elsewhere), until a rate is not even kept within the
 * saturation limit: the highest rate held is what rtbench offers through `channel` on schedule on
 * this machine, the highest kept what it offers before it would call itself saturated. A rate not
 * held is tried once more before it counts (both tries are in the steps, the second marked `retry`):
 * one stall of a shared machine fails a short step's p99, as the delivery ceiling's search knows too.
 */
export async function publishCeiling(channel: PublishChannel, signal: AbortSignal, options: { readonly rates?: readonly number[]; readonly seconds?: number; readonly log?: (line: string) => void } = {}): Promise<PublishStep[]> {
  const steps: PublishStep[] = [];
  const seconds = options.seconds ?? 1;
  for (const ratePerS of options.rates ?? PUBLISH_RATES) {
    if (signal.aborted) break;
    let step = await publishStep(channel, signal, ratePerS, seconds, false);
    steps.push(step);
    options.log?.(stepLine(step));
    if (!step.held && !signal.aborted) {
      step = await publishStep(channel, signal, ratePerS, seconds, true);
      steps.push(step);
      options.log?.(stepLine(step));
    }
    if (!step.kept) break;
  }
  return steps;
}

/**
 * The highest rate that passed `test` with every rate below it, each rate judged by its last try
 * (a rate retried counts by its retry): what the publisher offers, read off publishCeiling's steps.
 */
export function highestPublishRate(steps: readonly PublishStep[], test: (step: PublishStep) => boolean): number | null {
  const lastTry = new Map<number, PublishStep>();
  for (const step of steps) lastTry.set(step.offeredPerS, step);
  let highest: number | null = null;
  for (const [ratePerS, step] of lastTry) {
    if (!test(step)) break;
    highest = ratePerS;
  }
  return highest;
}

async function publishStep(channel: PublishChannel, signal: AbortSignal, ratePerS: number, seconds: number, retry: boolean): Promise<PublishStep> {
  const count = Math.round(ratePerS * seconds);
  const plan = Array.from({ length: count }, (_, seq) => ({ seq, group: seq, offsetUs: Math.round((seq * 1e6) / ratePerS) }));
  const recorder = new Recorder({ runId: 'ceiling', plan, deadlineUs: 10_000_000 });
  const startUs = nowUs() + LEAD_US;
  recorder.begin(startUs);
  const schedule = planSchedule(plan, startUs, (m, dueUs) => encodeMarker({ runId: 'ceiling', seq: m.seq, group: m.group, scheduledUs: dueUs }));
  await publishOnSchedule(channel, schedule, { onSendStart: (seq, atUs) => recorder.recordSendStart(seq, atUs), onSendDone: (_seq, rttUs, code) => recorder.recordPublishDone(rttUs, code) }, signal, { sleepBeforeSend: true });
  const result = recorder.result(nowUs());
  const failed = Object.values(result.errors).reduce((a, b) => a + b, 0);
  const sendLagP99Us = result.latencyUs.sendLag.p99;
  const held = failed === 0 && sendLagP99Us !== null && sendLagP99Us <= PUBLISH_LAG_LIMIT_US;
  const kept = failed === 0 && sendLagP99Us !== null && sendLagP99Us <= SEND_LAG_LIMIT_US;
  return { offeredPerS: ratePerS, retry, achievedPerS: Math.round(result.latencyUs.publishRtt.count / seconds), sendLagP99Us, publishRttP99Us: result.latencyUs.publishRtt.p99, failed, held, kept };
}

function stepLine(step: PublishStep): string {
  const lag = step.sendLagP99Us === null ? '-' : (step.sendLagP99Us / 1000).toFixed(2);
  return `publishing alone at ${step.offeredPerS}/s${step.retry ? ' (again)' : ''}: send lag p99 ${lag} ms${step.failed > 0 ? `, ${step.failed} failed` : ''}`;
}
