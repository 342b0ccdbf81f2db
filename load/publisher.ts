import type { PublishChannel } from '../targets/types.js';
import { type ScheduledSend, type SendSchedule, listSchedule } from './send-schedule.js';
import { type Waiter, realWaiter } from './waiter.js';

export type { ScheduledSend, SendSchedule } from './send-schedule.js';

export interface PublishHooks {
  /** Called as the send starts, with the actual start time (open loop: never waits for earlier sends). */
  onSendStart(seq: number, actualUs: number): void;
  /** Round trip until the server accepted it; `errorCode` null when it did. */
  onSendDone(seq: number, rttUs: number, errorCode: string | null): void;
}

/**
 * Sends still unanswered beyond this are not queued: a server that stops answering must not make
 * the generator buffer without bound. Such a send is counted as failed (`GENERATOR_BACKPRESSURE`).
 */
export const MAX_IN_FLIGHT = 1024;
/** Timers fire up to ~1 ms late; the last stretch before a send is waited without a timer instead. */
const SPIN_WINDOW_US = 1500;
/**
 * With `sleepBeforeSend`, the thread sleeps through that last stretch in slices (Atomics.wait: a
 * futex with a µs timeout) between turns of the event loop, instead of turning the loop with nothing
 * to do; other I/O on the thread waits at most one slice, which is why a thread that also receives
 * never sleeps. With nothing in flight the slices are SLICE_US long. With sends in flight they are
 * IN_FLIGHT_SLICE_US: each turn between them reads the answers that came, so a publish round trip
 * reads at most that much (plus the futex's overrun) long, and the next send still starts on time,
 * which a timer (the loop's 1 ms resolution, often 2) could not promise at thousands a second.
 */
const SLICE_US = 250;
const IN_FLIGHT_SLICE_US = 100;
/** How much later than asked a slice may end (a 2-core VM's futex wake-ups): none starts closer than this to the send. */
const SLICE_OVERRUN_US = 200;
/** Shorter sleeps than this are not worth a futex call: the last of the wait is spun. */
const MIN_SLICE_US = 50;

/**
 * How the publisher waits for its next send, `waitUs` away: on a timer while it is far (`ms`, the
 * event loop's resolution), else by a turn of the event loop, after sleeping `sleepUs` first when
 * sleeping is allowed (shorter slices while answers are awaited).
 */
export type Wait = { readonly kind: 'timer'; readonly ms: number } | { readonly kind: 'turn'; readonly sleepUs: number };

/** The choice that carries no figure, made once: the publisher asks for one every turn of its loop. */
const TURN_NOW: Wait = { kind: 'turn', sleepUs: 0 };

export function nextWait(waitUs: number, inFlight: number, sleepBeforeSend: boolean): Wait {
  if (waitUs > SPIN_WINDOW_US) return { kind: 'timer', ms: Math.floor((waitUs - SPIN_WINDOW_US) / 1000) };
  if (!sleepBeforeSend) return TURN_NOW;
  const sliceUs = Math.min(inFlight > 0 ? IN_FLIGHT_SLICE_US : SLICE_US, waitUs - SLICE_OVERRUN_US);
  return sliceUs >= MIN_SLICE_US ? { kind: 'turn', sleepUs: sliceUs } : TURN_NOW;
}

/**
 * Publishes a schedule open loop: each send starts at its scheduled time whatever earlier sends are
 * doing, so a slow answer delays nothing after it (no coordinated omission). How a message is sent
 * (an HTTP request, a STOMP SEND) is the target profile's channel. Resolves when every send has been
 * answered (or the signal aborted the rest).
 */
export async function publishOnSchedule(
  channel: PublishChannel,
  sends: SendSchedule | readonly ScheduledSend[],
  hooks: PublishHooks,
  signal: AbortSignal,
  options: {
    /** Sleep, not spin, just before a send (the subscribers are on other threads: nothing here is stamped but publish answers). */
    readonly sleepBeforeSend?: boolean;
    readonly waiter?: Waiter;
  } = {},
): Promise<void> {
  // An abort already past fires no event: without this, the wait below would never end.
  if (signal.aborted) return;
  const schedule = Array.isArray(sends) ? listSchedule(sends) : (sends as SendSchedule);
  const waiter = options.waiter ?? realWaiter;
  const sleepBeforeSend = options.sleepBeforeSend === true;
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  await new Promise<void>((resolve) => {
    /** The timer or the turn pending (one at most), so one loop runs, never two. */
    let timer: unknown;
    let turn: unknown;
    const onAbort = (): void => {
      waiter.clearTimer(timer);
      waiter.clearTurn(turn);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const tick = (): void => {
      waiter.clearTimer(timer);
      timer = undefined;
      turn = undefined;
      if (signal.aborted) return;
      const now = waiter.nowUs();
      while (next < schedule.length && schedule.dueUs(next) <= now) {
        const index = next++;
        const seq = schedule.seq(index);
        hooks.onSendStart(seq, waiter.nowUs());
        if (inFlight.size >= MAX_IN_FLIGHT) {
          hooks.onSendDone(seq, 0, 'GENERATOR_BACKPRESSURE');
          continue;
        }
        const done: Promise<void> = channel.publish(schedule.room(index), schedule.content(index)).then(({ rttUs, errorCode }) => {
          inFlight.delete(done);
          hooks.onSendDone(seq, rttUs, errorCode);
        });
        inFlight.add(done);
      }
      if (next >= schedule.length) {
        signal.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      const wait = nextWait(schedule.dueUs(next) - waiter.nowUs(), inFlight.size, sleepBeforeSend);
      if (wait.kind === 'timer') {
        timer = waiter.setTimer(tick, wait.ms);
        return;
      }
      if (wait.sleepUs > 0) waiter.sleep(wait.sleepUs);
      turn = waiter.setTurn(tick);
    };
    tick();
  });
  await Promise.allSettled([...inFlight]);
}
