import { type RedisClient, redisClient } from '../core/redis.js';
import { type Bus, type ChatMessage, type Follower, NO_REPLAY, type Published, type Replay, publishedOf, replayWindow } from './bus.js';
import { checkHistoryLimit } from './memory-bus.js';

/**
 * The bus of a cluster of reference servers: every instance publishes through Redis and hears every
 * message on one pub/sub channel, so a message published to any instance reaches the subscribers of
 * every instance.
 *
 * Ids and history live in Redis, not in a process: one Lua script takes the room's next id (INCR),
 * appends the message to the room's stream (trimmed to `historyLimit`, entry id = message id) and
 * publishes it, atomically, so ids are strictly increasing per room across instances and the channel
 * carries them in id order. Resume (`since`) therefore works from any instance, and survives an
 * instance's restart.
 *
 * Pub/sub is at most once: while an instance's subscription is down it hears nothing. Each instance
 * keeps the last id it fanned out per room; when a live message skips ids (or the subscription comes
 * back), it reads the missed ones from the stream first, so its connected subscribers lose nothing
 * that Redis accepted.
 */
export interface RedisBusOptions {
  readonly url: string;
  /** Key and channel prefix: a run's servers share it; two runs on one Redis never mix. */
  readonly prefix: string;
  readonly historyLimit: number;
  readonly fanOutDelayMs?: number;
}

const PUBLISH_SCRIPT = `
local id = redis.call('INCR', KEYS[1])
local json = '{"id":' .. id .. ',' .. ARGV[1]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id .. '-0', 'm', json)
redis.call('PUBLISH', ARGV[3], json)
return json`;

// Returns the room's last id, its oldest kept id, then the kept messages from the first one wanted.
const SINCE_SCRIPT = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local oldest = last + 1
if head[1] then oldest = tonumber(string.match(head[1][1], '^%d+')) end
local after = tonumber(ARGV[1])
local out = { last, oldest }
if after == last then return out end
local first = oldest
if after < last then first = math.max(after + 1, oldest) end
local entries = redis.call('XRANGE', KEYS[2], first .. '-0', '+', 'COUNT', ARGV[2])
for _, entry in ipairs(entries) do out[#out + 1] = entry[2][2] end
return out`;

const CATCH_UP_RETRY_MS = 250;

type Listener = (published: Published) => void;

interface LocalRoom {
  /** The last id this instance fanned out; 0 until it has heard one. */
  lastId: number;
  readonly listeners: Set<Listener>;
  /** Messages heard while missed ones are read from the stream; null when not catching up. */
  held: Published[] | null;
}

type Client = RedisClient;

function parsed(json: string): Published {
  return publishedOf(JSON.parse(json) as ChatMessage, json);
}

export class RedisBus implements Bus {
  readonly historyLimit: number;
  private readonly commands: Client;
  private readonly subscriber: Client;
  private readonly rooms = new Map<string, LocalRoom>();
  private readonly channel: string;
  private readonly fanOutDelayMs: number;
  private closed = false;

  private constructor(private readonly options: RedisBusOptions) {
    checkHistoryLimit(options.historyLimit);
    this.historyLimit = options.historyLimit;
    this.fanOutDelayMs = options.fanOutDelayMs ?? 0;
    this.channel = `${options.prefix}:messages`;
    this.commands = redisClient(options.url, `${options.prefix}:commands`);
    this.subscriber = redisClient(options.url, `${options.prefix}:subscriber`);
  }

  /** Connects both clients and subscribes; rejects if Redis cannot be reached now. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    await bus.commands.connect();
    await bus.subscriber.connect();
    await bus.subscriber.subscribe(bus.channel, (json) => bus.heard(parsed(json)));
    // Listened to after the first connection: a 'ready' now is a lost subscription come back
    // (node-redis subscribes again by itself); read what it missed.
    bus.subscriber.on('ready', () => {
      for (const [chatRoomId, room] of bus.rooms) bus.catchUp(chatRoomId, room);
    });
    return bus;
  }

  private key(chatRoomId: string, what: 'last' | 'history'): string {
    return `${this.options.prefix}:room:${encodeURIComponent(chatRoomId)}:${what}`;
  }

  async publish(chatRoomId: string, userId: string, content: string): Promise<Published> {
    // The id is assigned in Redis; everything else is serialised here, once, with `id` first.
    const rest = JSON.stringify({ chatRoomId, userId, content, createdAt: new Date().toISOString() }).slice(1);
    const json = (await this.commands.eval(PUBLISH_SCRIPT, {
      keys: [this.key(chatRoomId, 'last'), this.key(chatRoomId, 'history')],
      arguments: [rest, String(this.historyLimit), this.channel],
    })) as string;
    return parsed(json);
  }

  async since(chatRoomId: string, afterId: number, limit = Number.POSITIVE_INFINITY): Promise<Replay> {
    const count = Number.isFinite(limit) ? limit : this.historyLimit;
    const reply = (await this.commands.eval(SINCE_SCRIPT, {
      keys: [this.key(chatRoomId, 'last'), this.key(chatRoomId, 'history')],
      arguments: [String(afterId), String(count)],
    })) as [number, number, ...string[]];
    const [lastId, oldestKeptId, ...jsons] = reply;
    if (afterId === lastId) return NO_REPLAY;
    return { messages: jsons.map(parsed), gap: replayWindow(afterId, lastId, oldestKeptId).gap };
  }

  follow(chatRoomId: string, since: number | null, follower: Follower): () => void {
    const room = this.local(chatRoomId);
    let held: Published[] | null = since === null ? null : [];
    const listener: Listener = (published) => (held ? held.push(published) : follower.live(published));
    room.listeners.add(listener);
    let following = true;
    const unsubscribe = (): void => {
      following = false;
      room.listeners.delete(listener);
      if (room.listeners.size === 0 && room.held === null) this.rooms.delete(chatRoomId);
    };
    if (since === null) {
      follower.replay(NO_REPLAY);
      return unsubscribe;
    }
    // Listening before the history is read: a message published after the read is heard, one
    // published before it is in the replay, and one in both is sent once (the plugins' deliverOnce).
    this.since(chatRoomId, since).then(
      (replay) => {
        if (!following) return;
        follower.replay(replay);
        const missed = held ?? [];
        held = null;
        for (const published of missed) follower.live(published);
      },
      () => {
        if (following) follower.fail('BUS_UNAVAILABLE');
      },
    );
    return unsubscribe;
  }

  private local(chatRoomId: string): LocalRoom {
    let room = this.rooms.get(chatRoomId);
    if (!room) {
      room = { lastId: 0, listeners: new Set(), held: null };
      this.rooms.set(chatRoomId, room);
    }
    return room;
  }

  /** A message from the channel: fanned out in id order, after any it skipped are read from the stream. */
  private heard(published: Published): void {
    const room = this.rooms.get(published.message.chatRoomId);
    if (!room) return;
    if (room.held) {
      room.held.push(published);
      return;
    }
    const { id } = published.message;
    if (id <= room.lastId) return;
    if (room.lastId > 0 && id > room.lastId + 1) {
      this.catchUp(published.message.chatRoomId, room, [published]);
      return;
    }
    room.lastId = id;
    this.fanOut(room, published);
  }

  private fanOut(room: LocalRoom, published: Published): void {
    const send = (): void => {
      for (const listener of room.listeners) listener(published);
    };
    if (this.fanOutDelayMs > 0) setTimeout(send, this.fanOutDelayMs);
    else send();
  }

  /** Reads what this instance missed of a room since its last id, fans it out, then what arrived meanwhile. */
  private catchUp(chatRoomId: string, room: LocalRoom, arrived: Published[] = []): void {
    if (room.lastId === 0) return; // nothing heard yet: its followers replayed for themselves
    if (room.held) {
      room.held.push(...arrived);
      return;
    }
    room.held = [...arrived];
    const attempt = (): void => {
      this.since(chatRoomId, room.lastId).then(
        (replay) => {
          for (const published of replay.messages) {
            if (published.message.id <= room.lastId) continue;
            room.lastId = published.message.id;
            this.fanOut(room, published);
          }
          const heldMeanwhile = room.held ?? [];
          room.held = null;
          for (const published of heldMeanwhile) this.heard(published);
          if (room.listeners.size === 0) this.rooms.delete(chatRoomId);
        },
        () => {
          if (!this.closed) setTimeout(attempt, CATCH_UP_RETRY_MS).unref();
        },
      );
    };
    attempt();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.subscriber.close(), this.commands.close()]);
  }
}
