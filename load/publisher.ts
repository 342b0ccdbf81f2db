import type { PublishChannel } from '../targets/types.js';
import { type Waiter, realWaiter } from './waiter.js';

export interface ScheduledSend {
  readonly seq: number;
  /** Room index; the target profile knows its id. */
  readonly room: number;
  readonly scheduledUs: number;
  readonly content: string;
}

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
 * With `sleepBeforeSend`, the thread sleeps through that last stretch in slices this long
 * (Atomics.wait: a futex with a µs timeout) between turns of the event loop, instead of turning the
 * loop with nothing to do. It sleeps only while no send is in flight, so no publish answer is
 * stamped late; other I/O on the thread waits at most one slice, which is why a thread that also
 * receives never sleeps. With sends in flight it waits for the next send on a timer (about 1 ms,
 * the loop's resolution) or for the next answer, whichever comes first, and sends what has come due:
 * at a high rate answers arrive often enough to keep the sends close to their schedule, without the
 * thread spinning a core between them.
 */
const SLICE_US = 250;
/** How much later than asked a slice may end (a 2-core VM's futex wake-ups): none starts closer than this to the send. */
const SLICE_OVERRUN_US = 200;
/** Shorter sleeps than this are not worth a futex call: the last of the wait is spun. */
const MIN_SLICE_US = 50;

/**
 * How the publisher waits for its next send, `waitUs` away: on a timer while it is far (`ms`, the
 * event loop's resolution; `orAnswer`: an answer arriving first may send it sooner), else by a turn of
 * the event loop, after sleeping `sleepUs` first when nothing is in flight and sleeping is allowed.
 */
export type Wait = { readonly kind: 'timer'; readonly ms: number; readonly orAnswer: boolean } | { readonly kind: 'turn'; readonly sleepUs: number };

/** The choices that carry no figure, made once: the publisher asks for one every turn of its loop. */
const TIMER_OR_ANSWER: Wait = { kind: 'timer', ms: 0, orAnswer: true };
const TURN_NOW: Wait = { kind: 'turn', sleepUs: 0 };

export function nextWait(waitUs: number, inFlight: number, sleepBeforeSend: boolean): Wait {
  if (waitUs > SPIN_WINDOW_US) return { kind: 'timer', ms: Math.floor((waitUs - SPIN_WINDOW_US) / 1000), orAnswer: false };
  if (sleepBeforeSend && inFlight > 0 && waitUs > MIN_SLICE_US) return TIMER_OR_ANSWER;
  // Nothing is in flight here unless the send is under MIN_SLICE_US away: too close to sleep at all.
  const sliceUs = Math.min(SLICE_US, waitUs - SLICE_OVERRUN_US);
  if (sleepBeforeSend && sliceUs >= MIN_SLICE_US) return { kind: 'turn', sleepUs: sliceUs };
  return TURN_NOW;
}

/**
 * Publishes a schedule open loop: each send starts at its scheduled time whatever earlier sends are
 * doing, so a slow answer delays nothing after it (no coordinated omission). How a message is sent
 * (an HTTP request, a STOMP SEND) is the target profile's channel. Resolves when every send has been
 * answered (or the signal aborted the rest).
 */
export async function publishOnSchedule(
  channel: PublishChannel,
  schedule: readonly ScheduledSend[],
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
  const waiter = options.waiter ?? realWaiter;
  const sleepBeforeSend = options.sleepBeforeSend === true;
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  await new Promise<void>((resolve) => {
    /** The timer or the turn pending (one at most): a tick started early by an answer cancels it, so one loop runs, never two. */
    let timer: unknown;
    let turn: unknown;
    /** Waiting on the short timer with sends in flight: an answer's arrival may send what is due sooner. */
    // Stryker disable next-line BooleanLiteral: tick() below sets it before anything reads it
    let waitingOnAnswers = false;
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
      waitingOnAnswers = false;
      if (signal.aborted) return;
      const now = waiter.nowUs();
      while (next < schedule.length && (schedule[next] as ScheduledSend).scheduledUs <= now) {
        const send = schedule[next++] as ScheduledSend;
        hooks.onSendStart(send.seq, waiter.nowUs());
        if (inFlight.size >= MAX_IN_FLIGHT) {
          hooks.onSendDone(send.seq, 0, 'GENERATOR_BACKPRESSURE');
          continue;
        }
        const done: Promise<void> = channel.publish(send.room, send.content).then(({ rttUs, errorCode }) => {
          inFlight.delete(done);
          hooks.onSendDone(send.seq, rttUs, errorCode);
          // The thread is awake for this answer anyway: send what has come due, rather than wait for the
          // timer. (While waitingOnAnswers, a send is left: the last send never sets it.)
          if (waitingOnAnswers && (schedule[next] as ScheduledSend).scheduledUs <= waiter.nowUs()) tick();
        });
        inFlight.add(done);
      }
      if (next >= schedule.length) {
        signal.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      const wait = nextWait((schedule[next] as ScheduledSend).scheduledUs - waiter.nowUs(), inFlight.size, sleepBeforeSend);
      if (wait.kind === 'timer') {
        timer = waiter.setTimer(tick, wait.ms);
        waitingOnAnswers = wait.orAnswer;
        return;
      }
      if (wait.sleepUs > 0) waiter.sleep(wait.sleepUs);
      turn = waiter.setTurn(tick);
    };
    tick();
  });
  await Promise.allSettled([...inFlight]);
}
