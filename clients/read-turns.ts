import { performance } from 'node:perf_hooks';
import { nowUs } from '../core/clock.js';

/**
 * Every subscriber socket of a thread reads through here. Each read is stamped the moment its bytes
 * come off the socket and copied aside; the reads are handed to their connections (to be decoded,
 * read by the profile and matched) afterwards, in the order they were read, in slices of at most
 * SLICE_US between which the event loop polls its sockets again. So reading always comes first: a
 * fan-out of hundreds of messages to one thread is stamped in the time its reads take, not in the
 * time the handling of the messages before it takes.
 *
 * Each stamp also gets the start of the window in which its bytes may have waited for this thread's
 * own work (`ownWaitUs`, core/own-delay.ts): the first read of its turn (one poll's reads), or, when
 * the thread has not waited for I/O since its last slice of handling ended, that slice's start (the
 * bytes may have arrived while it ran).
 */

/** Called with a read's bytes (`data[start, end)`, valid only during the call) and its stamp. */
export type ReadSink = (data: Buffer, start: number, end: number, receivedUs: number) => void;

/** The most handling between two polls of the sockets. */
const SLICE_US = 200;
/** Past this many bytes held, all of them are handled at once: memory stays bounded whatever a server sends. */
const MAX_HELD_BYTES = 4 * 1024 * 1024;
/** Turns whose window is remembered, for arrivals handed on after their turn (a long poll's answer, read in a microtask). */
const TURNS_KEPT = 256;

let held = Buffer.allocUnsafe(256 * 1024);
let heldEnd = 0;
const sinks: Array<ReadSink | null> = [];
let starts = new Int32Array(1024);
let ends = new Int32Array(1024);
let stamps = new Float64Array(1024);
let head = 0;
let count = 0;
let handling = false;
let sliceScheduled = false;
/** Reads taken and handed on since the thread started: a waiter's place in the order. */
let takenTotal = 0;
let handedTotal = 0;
const waiters: Array<{ upTo: number; resolve: () => void }> = [];

let turnOpen = false;
const turnFirstUs = new Float64Array(TURNS_KEPT);
const turnWindowUs = new Float64Array(TURNS_KEPT);
let turns = 0;
let lastSliceStartUs = 0;
let lastSliceEndUs = -1;
let idleAtSliceEndMs = -1;

/** Takes one read: stamps it, keeps a copy of its bytes, and has `sink` handle them after the poll. */
export function takeRead(sink: ReadSink, data: Uint8Array, bytes: number): void {
  const receivedUs = nowUs();
  if (!turnOpen) openTurn(receivedUs);
  if (heldEnd + bytes > held.length || count === stamps.length) makeRoom(bytes);
  // A plain view, not Buffer#subarray (which builds a Buffer through its species constructor).
  held.set(bytes === data.length ? data : new Uint8Array(data.buffer, data.byteOffset, bytes), heldEnd);
  sinks[count] = sink;
  starts[count] = heldEnd;
  ends[count] = heldEnd + bytes;
  stamps[count] = receivedUs;
  count++;
  takenTotal++;
  heldEnd += bytes;
  if (heldEnd - (starts[head] as number) > MAX_HELD_BYTES) flushReads();
}

/**
 * Hands every read held so far to its connection, in the order they were read. Called by whoever
 * must see a connection's bytes before acting: a socket's close and error events (so no message read
 * before them is lost), a worker's messages from the pool (so a step's result holds every arrival
 * stamped before it was asked for).
 */
export function flushReads(): void {
  handle(Number.POSITIVE_INFINITY);
}

/**
 * Resolves once every read taken so far has been handed to its connection, by the usual slices:
 * reading goes on meanwhile, so a caller that needs the arrivals already stamped (a worker asked
 * for a step's result) does not hold back the stamps of those still coming, as a flush would.
 */
export function readsTakenSoFarHandled(): Promise<void> {
  if (handedTotal === takenTotal) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ upTo: takenTotal, resolve }));
}

/**
 * How long the arrival stamped `receivedUs` may have waited for this thread's own reads and
 * handling: from the start of its turn's window to its stamp (µs).
 */
export function ownWaitUs(receivedUs: number): number {
  // The newest turn that began at or before the stamp: usually the newest, or one or two before it.
  for (let back = 0; back < Math.min(turns, TURNS_KEPT); back++) {
    const at = (turns - 1 - back) % TURNS_KEPT;
    if ((turnFirstUs[at] as number) <= receivedUs) return receivedUs - (turnWindowUs[at] as number);
  }
  return 0;
}

function openTurn(firstUs: number): void {
  turnOpen = true;
  // The loop's idle time grows only while it waits for I/O, which it does only when nothing is
  // ready: grown since the last slice ended, these bytes came after that wait began. Otherwise
  // they may have arrived while the last slice ran.
  const idleMs = performance.eventLoopUtilization().idle;
  const carriedUs = lastSliceEndUs < 0 || idleMs !== idleAtSliceEndMs ? 0 : lastSliceEndUs - lastSliceStartUs;
  const at = turns % TURNS_KEPT;
  turnFirstUs[at] = firstUs;
  turnWindowUs[at] = firstUs - carriedUs;
  turns++;
  scheduleSlice();
}

function scheduleSlice(): void {
  if (sliceScheduled) return;
  sliceScheduled = true;
  setImmediate(slice);
}

/**
 * Runs in the check phase right after every poll that read something (an immediate queued before
 * the phase begins runs in it), so it also ends the turn: the next poll's reads open a new one.
 */
function slice(): void {
  sliceScheduled = false;
  turnOpen = false;
  lastSliceStartUs = nowUs();
  try {
    handle(lastSliceStartUs + SLICE_US);
  } finally {
    if (count > head) scheduleSlice();
    // Queued after the microtasks the handlers queued (a long poll's answer is read in one), so it
    // runs once they have.
    queueMicrotask(markSliceEnd);
  }
}

function markSliceEnd(): void {
  lastSliceEndUs = nowUs();
  idleAtSliceEndMs = performance.eventLoopUtilization().idle;
}

/** Handles held reads in order until none is left or the clock passes `untilUs` (at least one). */
function handle(untilUs: number): void {
  if (handling || count === head) return;
  handling = true;
  let failure: unknown = null;
  try {
    do {
      const i = head++;
      handedTotal++;
      const sink = sinks[i] as ReadSink;
      sinks[i] = null;
      try {
        sink(held, starts[i] as number, ends[i] as number, stamps[i] as number);
      } catch (error) {
        failure ??= error;
      }
    } while (head < count && (untilUs === Number.POSITIVE_INFINITY || nowUs() < untilUs));
  } finally {
    if (head === count) head = count = heldEnd = 0;
    handling = false;
    while (waiters.length > 0 && (waiters[0] as { upTo: number }).upTo <= handedTotal) waiters.shift()?.resolve();
  }
  if (failure !== null) throw failure;
}

/** Moves what is still held to the front, then widens the buffers if that is not enough. */
function makeRoom(bytes: number): void {
  if (head > 0) {
    const offset = starts[head] as number;
    held.copyWithin(0, offset, heldEnd);
    heldEnd -= offset;
    for (let i = head; i < count; i++) {
      const to = i - head;
      sinks[to] = sinks[i] as ReadSink;
      sinks[i] = null;
      starts[to] = (starts[i] as number) - offset;
      ends[to] = (ends[i] as number) - offset;
      stamps[to] = stamps[i] as number;
    }
    count -= head;
    head = 0;
  }
  if (heldEnd + bytes > held.length) {
    const bigger = Buffer.allocUnsafe(Math.max(held.length * 2, heldEnd + bytes));
    held.copy(bigger, 0, 0, heldEnd);
    held = bigger;
  }
  if (count === stamps.length) {
    const size = stamps.length * 2;
    const widen = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    starts = widen(starts, new Int32Array(size));
    ends = widen(ends, new Int32Array(size));
    stamps = widen(stamps, new Float64Array(size));
    sinks.length = size;
  }
}
