import type { PublishChannel, SubscriberRef, TargetContext } from '../targets/types.js';

/** FNV-1a (32 bits): a stable hash, as a load balancer hashing its clients would use. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The instance a subscriber is sent to, for good: round-robin deals them in turn (a balancer's
 * least-recently-used choice), hash by their index (a balancer's consistent hash), which spreads
 * unevenly the way a real one does.
 */
export function instanceOf(subscriberIndex: number, instances: number, spread: 'round-robin' | 'hash'): number {
  if (instances <= 1) return 0;
  return spread === 'hash' ? fnv1a(`subscriber-${subscriberIndex}`) % instances : subscriberIndex % instances;
}

/** The context one subscriber connects with: `url` is the instance it sticks to. */
export function subscriberContext(context: TargetContext, subscriber: SubscriberRef): TargetContext {
  const urls = context.instanceUrls;
  if (!urls || urls.length <= 1) return context;
  const url = urls[instanceOf(subscriber.index, urls.length, context.spread ?? 'round-robin')] as string;
  return { ...context, url, directUrl: url };
}

/** The contexts of each instance, for publishers. */
export function instanceContexts(context: TargetContext): TargetContext[] {
  const urls = context.instanceUrls;
  if (!urls || urls.length <= 1) return [context];
  return urls.map((url) => ({ ...context, url, directUrl: url }));
}

/** One publish channel over several instances: each publish goes to the next in turn. */
export function roundRobinChannel(channels: readonly PublishChannel[]): PublishChannel {
  if (channels.length === 1) return channels[0] as PublishChannel;
  let next = 0;
  return {
    publish: (room, content) => {
      const channel = channels[next] as PublishChannel;
      next = (next + 1) % channels.length;
      return channel.publish(room, content);
    },
    close: async () => {
      await Promise.all(channels.map((channel) => channel.close()));
    },
  };
}
