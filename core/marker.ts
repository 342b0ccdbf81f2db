/**
 * The marker the publisher writes into a message's `content` and every subscriber reads back.
 *
 * It carries identity (run id and a global sequence number), the burst the message belongs to, and
 * the scheduled send time on the shared monotonic clock. Because it travels inside `content`, which
 * every server must echo byte for byte, latency and loss are measured the same way against the
 * built-in servers and against any `--target`.
 *
 * Layout: `rtb1|<runId>|<seq>|<group>|<scheduledUs>|` then optional padding of `.` characters.
 */
export interface Marker {
  readonly runId: string;
  /** Global sequence number, 0-based, unique within the run. */
  readonly seq: number;
  /**
   * Burst (or step) index. Negative groups are warm-up, never reported: -1 a warm-up message, -2 a
   * message of the round measured and thrown away before a scenario measures (its measuring path run
   * once), so a server that counts measured messages counts neither.
   */
  readonly group: number;
  readonly scheduledUs: number;
}

const PREFIX = 'rtb1|';
export const WARMUP_GROUP = -1;
export const WARMUP_ROUND_GROUP = -2;

export function encodeMarker(marker: Marker, payloadBytes = 0): string {
  const text = `${PREFIX}${marker.runId}|${marker.seq}|${marker.group}|${marker.scheduledUs}|`;
  return text.length >= payloadBytes ? text : text + '.'.repeat(payloadBytes - text.length);
}

/** Returns null for anything that is not a marker, so foreign traffic in a room is counted, not fatal. */
export function decodeMarker(content: string): Marker | null {
  const fields = new MarkerFields();
  const runEnd = readMarker(content, fields, null);
  return runEnd < 0 ? null : { runId: content.slice(PREFIX.length, runEnd), seq: fields.seq, group: fields.group, scheduledUs: fields.scheduledUs };
}

/** A marker's numbers, filled by readMarker: one reused object instead of one per message. */
export class MarkerFields {
  seq = 0;
  group = 0;
  scheduledUs = 0;
}

/**
 * Reads `content`'s marker into `fields`; returns where its run id ends, or -1 when it is not a
 * marker (or, given `runId`, not one of that run). Every subscriber reads every message this way:
 * indexOf and charCodeAt over the string, the run id compared in place, nothing allocated.
 */
export function readMarker(content: string, fields: MarkerFields, runId: string | null): number {
  if (!content.startsWith(PREFIX)) return -1;
  const runEnd = content.indexOf('|', PREFIX.length);
  if (runId !== null && (runEnd !== PREFIX.length + runId.length || !content.startsWith(runId, PREFIX.length))) return -1;
  const seqEnd = runEnd < 0 ? -1 : content.indexOf('|', runEnd + 1);
  const groupEnd = seqEnd < 0 ? -1 : content.indexOf('|', seqEnd + 1);
  const scheduledEnd = groupEnd < 0 ? -1 : content.indexOf('|', groupEnd + 1);
  if (scheduledEnd < 0) return -1;
  // An empty field is not a marker (Number('') would read it as 0).
  if (runEnd === PREFIX.length || seqEnd === runEnd + 1 || groupEnd === seqEnd + 1 || scheduledEnd === groupEnd + 1) return -1;
  // Decimal digits only (group may be -1 or -2): Number() alone would also read '1e3', ' 1', '0x1' or '+1'.
  const seq = digitsValue(content, runEnd + 1, seqEnd);
  const negative = groupEnd === seqEnd + 3 && content.charCodeAt(seqEnd + 1) === 45 ? content.charCodeAt(seqEnd + 2) - 48 : 0;
  const warmUp = negative === 1 || negative === 2;
  const group = warmUp ? -negative : digitsValue(content, seqEnd + 1, groupEnd);
  const scheduledUs = digitsValue(content, groupEnd + 1, scheduledEnd);
  if (seq < 0 || (!warmUp && group < 0) || scheduledUs < 0) return -1;
  fields.seq = seq;
  fields.group = group;
  fields.scheduledUs = scheduledUs;
  return runEnd;
}

/** The number written in decimal digits in `text[start, end)`, or -1 when it is anything else (or too large to be exact). */
function digitsValue(text: string, start: number, end: number): number {
  // Read while checked, in one pass: no slice and no Number() per field of every message.
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
    if (value > Number.MAX_SAFE_INTEGER) return -1;
  }
  return value;
}

/** Short, URL- and marker-safe run id. */
export function newRunId(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
