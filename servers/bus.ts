/**
 * What every transport plugin needs of a room bus: ids, bounded history, and fan-out to listeners.
 * Two buses implement it: `MemoryBus` (one process, everything in memory) and `RedisBus` (several
 * server instances sharing ids, history and messages through Redis).
 *
 * A message is serialised once, when it is published, and each transport frames it into bytes once
 * (`framed`); every subscriber of that transport is written the same Buffer.
 */
export interface ChatMessage {
  readonly id: number;
  readonly chatRoomId: string;
  readonly userId: string;
  readonly content: string;
  readonly createdAt: string;
}

export interface Published {
  readonly message: ChatMessage;
  /** The message JSON, serialised once for everyone. */
  readonly json: string;
  /** Per-transport framed bytes, built on first use and shared by all subscribers of that transport. */
  readonly frames: Map<string, Buffer>;
}

export interface Gap {
  /** First id the subscriber asked for that is no longer kept. */
  readonly from: number;
  /** Last id that is no longer kept. */
  readonly to: number;
}

export interface Replay {
  readonly messages: readonly Published[];
  readonly gap: Gap | null;
}

export const NO_REPLAY: Replay = { messages: [], gap: null };

/** One subscriber's view of a room: first what it missed, then what is published, each id once. */
export interface Follower {
  /** Called once, before any live message: what was kept after `since` (nothing when `since` is null). */
  replay(replay: Replay): void;
  live(published: Published): void;
  /** The bus cannot serve this subscriber (Redis unreachable): the connection should end, so the client resumes elsewhere. */
  fail(code: string): void;
}

export interface Bus {
  readonly historyLimit: number;
  /** Assigns the room's next id, keeps the message in history and fans it out; resolves once accepted. */
  publish(chatRoomId: string, userId: string, content: string): Published | Promise<Published>;
  /** Kept messages with `id > afterId`, oldest first, at most `limit`, and the gap if some are gone. */
  since(chatRoomId: string, afterId: number, limit?: number): Replay | Promise<Replay>;
  /**
   * Replays what was kept after `since`, then follows live messages, with nothing slipping between
   * the two (the follower may see an id twice: use `deliverOnce`). Returns the unsubscribe function;
   * `follower.replay` may run before it returns.
   */
  follow(chatRoomId: string, since: number | null, follower: Follower): () => void;
  close(): Promise<void>;
}

export function publishedOf(message: ChatMessage, json: string): Published {
  return { message, json, frames: new Map() };
}

/**
 * Which ids a replay after `afterId` holds, given the room's last id and its oldest kept id, and the
 * gap if some are gone. A cursor beyond the room's last id can only come from another incarnation of
 * the history (the server restarted and lost it, or Redis was emptied), so the client has seen none
 * of this incarnation's messages: they are all replayed, after a gap `from` the next id this room
 * will use `to` the cursor, so the client resets its cursor instead of skipping every id up to its old one.
 */
export function replayWindow(afterId: number, lastId: number, oldestKeptId: number): { firstId: number; gap: Gap | null } {
  if (afterId > lastId) return { firstId: oldestKeptId, gap: { from: lastId + 1, to: afterId } };
  const gap = afterId + 1 < oldestKeptId ? { from: afterId + 1, to: oldestKeptId - 1 } : null;
  return { firstId: Math.max(afterId + 1, oldestKeptId), gap };
}

/** The framed bytes of a message for one transport, built once and reused for every subscriber. */
export function framed(published: Published, transport: string, build: (published: Published) => string): Buffer {
  let frame = published.frames.get(transport);
  if (frame === undefined) {
    frame = Buffer.from(build(published));
    published.frames.set(transport, frame);
  }
  return frame;
}

/** Wraps a subscriber's send so each id goes out at most once, in increasing order (replay, then live). */
export function deliverOnce(send: (published: Published) => void): (published: Published) => void {
  let lastId = 0;
  return (published) => {
    if (published.message.id <= lastId) return;
    lastId = published.message.id;
    send(published);
  };
}
