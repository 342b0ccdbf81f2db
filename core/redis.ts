import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { createClient } from 'redis';

/** How long a lost connection waits between attempts, at most. */
const RECONNECT_MAX_MS = 1000;

/** Where a built-in server started by rtbench finds its bus URL (which may hold a password). */
export const BUS_URL_ENV = 'RTBENCH_BUS_URL';
/**
 * A CA file (PEM) trusted for `rediss://` besides the system's: set by `--redis-ca`, and read by
 * every Redis client of this process and of the servers it starts.
 */
export const REDIS_CA_ENV = 'RTBENCH_REDIS_CA';

/**
 * A Redis client for rtbench's own use (the reference servers' bus, cleaning a run's keys). Commands
 * sent while Redis is unreachable fail at once instead of queueing: a publish is refused, never held
 * to be accepted later. A first connection that fails rejects `connect()` (a server that cannot
 * reach its bus does not start); once connected, a lost connection is retried, quickly, for as long
 * as the client lives. `name` is shown by CLIENT LIST (a test finds a connection by it). A
 * `redis://user:password@host` URL authenticates (AUTH); `rediss://` speaks TLS, verifying the
 * server against the system's CAs and the file in RTBENCH_REDIS_CA.
 */
export function redisClient(url: string, name?: string) {
  let connected = false;
  const caFile = process.env[REDIS_CA_ENV];
  const client = createClient({
    url,
    ...(name ? { name } : {}),
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries, cause) => (connected ? Math.min(50 * 2 ** retries, RECONNECT_MAX_MS) : cause),
      connectTimeout: 5000,
      ...(url.startsWith('rediss:') && caFile ? { ca: [...tls.rootCertificates, readFileSync(caFile, 'utf8')] } : {}),
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
