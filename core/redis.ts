import { createClient } from 'redis';

/** How long a lost connection waits between attempts, at most. */
const RECONNECT_MAX_MS = 1000;

/**
 * A Redis client for rtbench's own use (the reference servers' bus, cleaning a run's keys). Commands
 * sent while Redis is unreachable fail at once instead of queueing: a publish is refused, never held
 * to be accepted later. A first connection that fails rejects `connect()` (a server that cannot
 * reach its bus does not start); once connected, a lost connection is retried, quickly, for as long
 * as the client lives. `name` is shown by CLIENT LIST (a test finds a connection by it).
 */
export function redisClient(url: string, name?: string) {
  let connected = false;
  const client = createClient({
    url,
    ...(name ? { name } : {}),
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries, cause) => (connected ? Math.min(50 * 2 ** retries, RECONNECT_MAX_MS) : cause),
      connectTimeout: 5000,
    },
  });
  client.on('ready', () => {
    connected = true;
  });
  // node-redis throws on an 'error' event nobody listens to; an outage is handled where commands fail.
  client.on('error', () => {});
  return client;
}

export type RedisClient = ReturnType<typeof redisClient>;

/** Deletes every key under a prefix (a finished run's ids and history); returns how many. */
export async function dropKeys(url: string, prefix: string): Promise<number> {
  const client = redisClient(url);
  await client.connect();
  let dropped = 0;
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
      if (keys.length > 0) dropped += await client.unlink(keys);
    }
  } finally {
    await client.close();
  }
  return dropped;
}
