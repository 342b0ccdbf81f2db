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
  /** Burst (or step) index; -1 marks a warm-up message that is never counted. */
  readonly group: number;
  readonly scheduledUs: number;
}

const PREFIX = 'rtb1|';
export const WARMUP_GROUP = -1;

export function encodeMarker(marker: Marker, payloadBytes = 0): string {
  const text = `${PREFIX}${marker.runId}|${marker.seq}|${marker.group}|${marker.scheduledUs}|`;
  return text.length >= payloadBytes ? text : text + '.'.repeat(payloadBytes - text.length);
}

/** Returns null for anything that is not a marker, so foreign traffic in a room is counted, not fatal. */
export function decodeMarker(content: string): Marker | null {
  if (!content.startsWith(PREFIX)) return null;
  // Every subscriber decodes every message: four indexOf and slices, not a split into an array.
  const runEnd = content.indexOf('|', PREFIX.length);
  const seqEnd = runEnd < 0 ? -1 : content.indexOf('|', runEnd + 1);
  const groupEnd = seqEnd < 0 ? -1 : content.indexOf('|', seqEnd + 1);
  const scheduledEnd = groupEnd < 0 ? -1 : content.indexOf('|', groupEnd + 1);
  if (scheduledEnd < 0) return null;
  // An empty field is not a marker (Number('') would read it as 0).
  if (runEnd === PREFIX.length || seqEnd === runEnd + 1 || groupEnd === seqEnd + 1 || scheduledEnd === groupEnd + 1) return null;
  const seq = Number(content.slice(runEnd + 1, seqEnd));
  const group = Number(content.slice(seqEnd + 1, groupEnd));
  const scheduledUs = Number(content.slice(groupEnd + 1, scheduledEnd));
  if (!Number.isSafeInteger(seq) || seq < 0) return null;
  if (!Number.isSafeInteger(group) || group < WARMUP_GROUP) return null;
  if (!Number.isSafeInteger(scheduledUs) || scheduledUs < 0) return null;
  return { runId: content.slice(PREFIX.length, runEnd), seq, group, scheduledUs };
}

/** Short, URL- and marker-safe run id. */
export function newRunId(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
