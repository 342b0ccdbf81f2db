import { type Bus, type ChatMessage, type Follower, type Published, type Replay, publishedOf, replayWindow } from './bus.js';

/**
 * The bus of one server process: ids, bounded history and listeners in memory. A room of at most
 * `SYNC_FAN_OUT_MAX` listeners is fanned out before the publisher is answered, as a bare server
 * (and nginx + nchan) does: when the publisher shares a process with subscribers, as rtbench's
 * burst does, an answer that arrives first is handled first and delays their reads. A bigger room is fanned out on the next turn of
 * the event loop, after the publisher has been answered, so a POST to a room of 10,000 does not wait
 * for 10,000 writes; while such a fan-out is pending, the room's next one waits behind it, so every
 * listener still sees ids in order. Listeners skip ids they already have, so a subscriber that joins
 * (and replays history) in between is not sent a message twice.
 */
type Listener = (published: Published) => void;

interface Room {
  lastId: number;
  /** Ring buffer of the newest `historyLimit` messages; ids in a room are contiguous. */
  readonly history: Published[];
  historyStart: number;
  readonly listeners: Set<Listener>;
  /** Fan-outs scheduled for a later turn and not yet run: the next message may not overtake them. */
  deferred: number;
}

/** Listeners a room may have for its fan-out to run before the publisher is answered (see MemoryBus). */
export const SYNC_FAN_OUT_MAX = 100;

export interface MemoryBusOptions {
  /** Messages kept per room for resume and history; older ones are dropped and reported as a gap. */
  readonly historyLimit: number;
  /** Holds every message this long before fan-out: a server slowed on purpose, to test regression gates. */
  readonly fanOutDelayMs?: number;
}

export function checkHistoryLimit(historyLimit: number): void {
  if (!Number.isInteger(historyLimit) || historyLimit < 1) {
    throw new RangeError(`historyLimit must be an integer >= 1, got ${historyLimit}`);
  }
}

export class MemoryBus implements Bus {
  private readonly rooms = new Map<string, Room>();
  readonly historyLimit: number;
  private readonly fanOutDelayMs: number;

  constructor(options: MemoryBusOptions) {
    checkHistoryLimit(options.historyLimit);
    this.historyLimit = options.historyLimit;
    this.fanOutDelayMs = options.fanOutDelayMs ?? 0;
  }

  private room(chatRoomId: string): Room {
    let room = this.rooms.get(chatRoomId);
    if (!room) {
      room = { lastId: 0, history: [], historyStart: 0, listeners: new Set(), deferred: 0 };
      this.rooms.set(chatRoomId, room);
    }
    return room;
  }

  publish(chatRoomId: string, userId: string, content: string): Published {
    const room = this.room(chatRoomId);
    const message: ChatMessage = { id: ++room.lastId, chatRoomId, userId, content, createdAt: new Date().toISOString() };
    const published = publishedOf(message, JSON.stringify(message));
    if (room.history.length < this.historyLimit) {
      room.history.push(published);
    } else {
      room.history[room.historyStart] = published;
      room.historyStart = (room.historyStart + 1) % this.historyLimit;
    }
    const fanOut = (): void => {
      for (const listener of room.listeners) listener(published);
    };
    if (this.fanOutDelayMs === 0 && room.deferred === 0 && room.listeners.size <= SYNC_FAN_OUT_MAX) {
      fanOut();
      return published;
    }
    room.deferred++;
    const deferredFanOut = (): void => {
      room.deferred--;
      fanOut();
    };
    if (this.fanOutDelayMs > 0) setTimeout(deferredFanOut, this.fanOutDelayMs);
    else setImmediate(deferredFanOut);
    return published;
  }

  since(chatRoomId: string, afterId: number, limit = Number.POSITIVE_INFINITY): Replay {
    const room = this.rooms.get(chatRoomId);
    const lastId = room?.lastId ?? 0;
    const kept = room?.history.length ?? 0;
    if (afterId === lastId) return { messages: [], gap: null };
    const oldestKeptId = lastId - kept + 1;
    const { firstId, gap } = replayWindow(afterId, lastId, oldestKeptId);
    const count = Math.min(lastId - firstId + 1, limit);
    const messages: Published[] = [];
    for (let i = 0; i < count; i++) {
      const offset = firstId - oldestKeptId + i;
      messages.push((room as Room).history[((room as Room).historyStart + offset) % kept] as Published);
    }
    return { messages, gap };
  }

  /** Replay and subscribe in the same tick: no fan-out can run between them. */
  follow(chatRoomId: string, since: number | null, follower: Follower): () => void {
    const room = this.room(chatRoomId);
    const listener: Listener = (published) => follower.live(published);
    room.listeners.add(listener);
    follower.replay(since === null ? { messages: [], gap: null } : this.since(chatRoomId, since));
    return () => {
      room.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {}
}
