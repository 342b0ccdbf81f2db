/**
 * The room bus every transport plugin shares: ids, bounded history, and fan-out to listeners.
 *
 * A message is serialised once, when it is published, and each transport frames it into bytes once
 * (`framed`); every subscriber of that transport is written the same Buffer. Fan-out runs on the next
 * turn of the event loop, after the publisher has been answered, so a POST to a room of 10,000 does
 * not wait for 10,000 writes; listeners skip ids they already have, so a subscriber that joins (and
 * replays history) in between is not sent a message twice.
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

export type Listener = (published: Published) => void;

interface Room {
  lastId: number;
  /** Ring buffer of the newest `historyLimit` messages; ids in a room are contiguous. */
  readonly history: Published[];
  historyStart: number;
  readonly listeners: Set<Listener>;
}

export interface RoomBusOptions {
  /** Messages kept per room for resume and history; older ones are dropped and reported as a gap. */
  readonly historyLimit: number;
  /** Holds every message this long before fan-out: a server slowed on purpose, to test regression gates. */
  readonly fanOutDelayMs?: number;
}

export class RoomBus {
  private readonly rooms = new Map<string, Room>();
  readonly historyLimit: number;
  private readonly fanOutDelayMs: number;

  constructor(options: RoomBusOptions) {
    if (!Number.isInteger(options.historyLimit) || options.historyLimit < 1) {
      throw new RangeError(`historyLimit must be an integer >= 1, got ${options.historyLimit}`);
    }
    this.historyLimit = options.historyLimit;
    this.fanOutDelayMs = options.fanOutDelayMs ?? 0;
  }

  private room(chatRoomId: string): Room {
    let room = this.rooms.get(chatRoomId);
    if (!room) {
      room = { lastId: 0, history: [], historyStart: 0, listeners: new Set() };
      this.rooms.set(chatRoomId, room);
    }
    return room;
  }

  publish(chatRoomId: string, userId: string, content: string): Published {
    const room = this.room(chatRoomId);
    const message: ChatMessage = { id: ++room.lastId, chatRoomId, userId, content, createdAt: new Date().toISOString() };
    const published: Published = { message, json: JSON.stringify(message), frames: new Map() };
    if (room.history.length < this.historyLimit) {
      room.history.push(published);
    } else {
      room.history[room.historyStart] = published;
      room.historyStart = (room.historyStart + 1) % this.historyLimit;
    }
    const fanOut = (): void => {
      for (const listener of room.listeners) listener(published);
    };
    if (this.fanOutDelayMs > 0) setTimeout(fanOut, this.fanOutDelayMs);
    else setImmediate(fanOut);
    return published;
  }

  /**
   * Kept messages with `id > afterId`, oldest first, at most `limit`, and the gap if some are gone.
   * A cursor beyond the room's last id can only come from another incarnation of the server (it
   * restarted and lost its history), so the client has seen none of this incarnation's messages:
   * they are all replayed, after a gap `from` the next id this server will use `to` the cursor, so
   * the client resets its cursor instead of skipping every id up to its old one.
   */
  since(chatRoomId: string, afterId: number, limit = Number.POSITIVE_INFINITY): Replay {
    const room = this.rooms.get(chatRoomId);
    const lastId = room?.lastId ?? 0;
    if (afterId > lastId) {
      return { messages: lastId > 0 ? this.since(chatRoomId, 0, limit).messages : [], gap: { from: lastId + 1, to: afterId } };
    }
    if (!room || afterId === lastId) return { messages: [], gap: null };
    const kept = room.history.length;
    const oldestKeptId = room.lastId - kept + 1;
    const gap = afterId + 1 < oldestKeptId ? { from: afterId + 1, to: oldestKeptId - 1 } : null;
    const firstId = Math.max(afterId + 1, oldestKeptId);
    const count = Math.min(room.lastId - firstId + 1, limit);
    const messages: Published[] = [];
    for (let i = 0; i < count; i++) {
      const offset = firstId - oldestKeptId + i;
      messages.push(room.history[(room.historyStart + offset) % kept] as Published);
    }
    return { messages, gap };
  }

  /**
   * Listens to live messages; the caller replays `since()` first, in the same tick, so nothing slips
   * between. The listener may be handed a message the replay already had: use `deliverOnce`.
   */
  subscribe(chatRoomId: string, listener: Listener): () => void {
    const room = this.room(chatRoomId);
    room.listeners.add(listener);
    return () => {
      room.listeners.delete(listener);
    };
  }

  lastId(chatRoomId: string): number {
    return this.rooms.get(chatRoomId)?.lastId ?? 0;
  }
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
