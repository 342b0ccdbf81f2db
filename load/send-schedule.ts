import type { PlannedMessage } from './recorder.js';

/**
 * What the publisher sends and when. A round of thousands of messages is held in typed arrays
 * and each message's content is built as it is sent: a schedule of objects and strings, made just
 * before the round, is still young when the round starts, and the collector copies all of it while
 * the publisher waits to send (pauses of several ms at thousands of sends a second, each one late).
 */
export interface SendSchedule {
  readonly length: number;
  /** When send `index` is due, on the shared clock (µs). */
  dueUs(index: number): number;
  seq(index: number): number;
  /** Room index; the target profile knows its id. */
  room(index: number): number;
  /** The content of send `index`, built when it is asked for. */
  content(index: number): string;
}

export interface ScheduledSend {
  readonly seq: number;
  readonly room: number;
  readonly scheduledUs: number;
  readonly content: string;
}

/** A schedule given as a list (tests, short rounds). */
export function listSchedule(sends: readonly ScheduledSend[]): SendSchedule {
  const at = (index: number): ScheduledSend => sends[index] as ScheduledSend;
  return {
    length: sends.length,
    dueUs: (index) => at(index).scheduledUs,
    seq: (index) => at(index).seq,
    room: (index) => at(index).room,
    content: (index) => at(index).content,
  };
}

/** A plan's sends from `startUs`, contents made by `contentOf(message, dueUs)` as each is sent. */
export function planSchedule(plan: readonly PlannedMessage[], startUs: number, contentOf: (message: PlannedMessage, dueUs: number) => string): SendSchedule {
  const due = new Float64Array(plan.length);
  const seqs = new Int32Array(plan.length);
  const rooms = new Int32Array(plan.length);
  plan.forEach((message, index) => {
    due[index] = startUs + message.offsetUs;
    seqs[index] = message.seq;
    rooms[index] = message.room ?? 0;
  });
  return {
    length: plan.length,
    dueUs: (index) => due[index] as number,
    seq: (index) => seqs[index] as number,
    room: (index) => rooms[index] as number,
    content: (index) => contentOf(plan[index] as PlannedMessage, due[index] as number),
  };
}
