import { InvalidArgumentError } from 'commander';
import type { PlannedMessage } from '../load/recorder.js';
import type { MessageCounts } from '../core/result.js';
import type { RampStep } from '../core/details.js';
export type { RampStep } from '../core/details.js';

/** `--steps 100,1000,5000,10000`: strictly increasing connection counts. */
export function parseSteps(text: string): number[] {
  const steps = text.split(',').map((part) => Number(part.trim()));
  const valid = steps.length > 0 && steps.every((n, i) => Number.isInteger(n) && n >= 1 && n <= 100_000 && (i === 0 || n > (steps[i - 1] as number)));
  if (!valid) throw new InvalidArgumentError('expected strictly increasing connection counts from 1 to 100000, comma-separated, e.g. 100,1000,5000,10000.');
  return steps;
}

/** `--max-error-rate 5` or `5%`: percent, as a fraction. */
export function parsePercent(text: string): number {
  const value = Number(text.trim().replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 100) throw new InvalidArgumentError('expected a percentage from 0 to 100, e.g. 5 or 5%.');
  return value / 100;
}

/**
 * One step's messages: `messages` per room, `1/rate` apart; rooms are staggered within the interval
 * so N rooms do not all publish at the same instant. Each message is its own group.
 */
export function stepPlan(messages: number, ratePerS: number, rooms: number): PlannedMessage[] {
  const intervalUs = 1_000_000 / ratePerS;
  const plan: PlannedMessage[] = [];
  for (let m = 0; m < messages; m++) {
    for (let room = 0; room < rooms; room++) {
      const seq = plan.length;
      plan.push({ seq, group: seq, room, offsetUs: Math.round(m * intervalUs + (room * intervalUs) / rooms) });
    }
  }
  return plan;
}


export function errorRate(connectAttempts: number, connectFailed: number, messages: MessageCounts): number {
  const denominator = connectAttempts + messages.expected;
  return denominator === 0 ? 0 : (connectFailed + messages.lost) / denominator;
}

/** The reason a step broke, in words, from its own numbers (a server that died is the runner's error). */
export function breakingCause(step: RampStep, serverExited: boolean): string {
  const causes: string[] = [];
  if (serverExited) causes.push('the server process exited');
  if (step.connect.failed > 0) {
    const codes = Object.entries(step.connect.errors).map(([code, n]) => `${code} x${n}`).join(', ');
    causes.push(`${step.connect.failed} of ${step.connect.attempted} connects failed (${codes})`);
  }
  if (step.messages.lost > 0) {
    causes.push(`${step.messages.lost} of ${step.messages.expected} deliveries lost (${step.messages.late} of them late, past the deadline)`);
  }
  if (step.generator.saturated) causes.push(`and the generator was saturated, so the limit may be rtbench's: ${step.generator.saturationReasons.join('; ')}`);
  return causes.join('; ') || 'no single cause recorded';
}
