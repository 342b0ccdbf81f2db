import type { SubscribeSpec } from '../clients/types.js';
import { endpoint, webSocketUrl } from './http.js';
import { connectStomp, stompPublisher } from './stomp-publisher.js';
import type { TargetContext, TargetProfile } from './types.js';

/**
 * RabbitMQ's Web-STOMP plugin (`rabbitmq-plugins enable rabbitmq_web_stomp`): STOMP 1.2 over
 * WebSocket at `/ws` (port 15674). Subscribers and the publisher both speak STOMP: the publisher
 * SENDs to `/topic/rtb.<run>...` with a receipt, subscribers SUBSCRIBE to it. A topic keeps no
 * history, so nothing can resume. The broker login comes from the target URL
 * (`http://user:pass@host:15674`), guest/guest by default.
 */
interface Provisioned {
  readonly destinations: readonly string[];
}

function brokerUrl(base: string): { url: string; login: string; passcode: string } {
  const parsed = new URL(base);
  const login = decodeURIComponent(parsed.username) || 'guest';
  const passcode = decodeURIComponent(parsed.password) || 'guest';
  parsed.username = '';
  parsed.password = '';
  return { url: webSocketUrl(endpoint(parsed.toString(), '/ws')), login, passcode };
}

const connectHeadersOf = (broker: { login: string; passcode: string }): Record<string, string> => ({ login: broker.login, passcode: broker.passcode, host: '/' });

export const rabbitmqProfile: TargetProfile<Provisioned> = {
  name: 'rabbitmq',
  summary: "RabbitMQ Web-STOMP: STOMP over WebSocket at /ws (port 15674); rtbench publishes with STOMP SEND; no resume",
  transports: ['stomp'],
  resume: {},

  async health(target: TargetContext) {
    const broker = brokerUrl(target.directUrl);
    const client = await connectStomp({ url: broker.url, headers: target.headers, connectHeaders: connectHeadersOf(broker), timeoutMs: target.connectTimeoutMs });
    await client.deactivate({ force: true });
  },

  async provision(target, need) {
    // Topic names take dots, not slashes: /topic/<routing key> on the amq.topic exchange.
    return { destinations: Array.from({ length: need.rooms }, (_, room) => `/topic/rtb.${target.runId}.${target.transport}${need.tag.replace(/[^\w]/g, '')}.r${room}`) };
  },

  publisher(target, provisioned) {
    const broker = brokerUrl(target.url);
    return stompPublisher({
      url: broker.url,
      headers: target.headers,
      connectHeaders: connectHeadersOf(broker),
      connections: Math.min(4, target.publishConnections),
      timeoutMs: target.publishTimeoutMs,
      destination: (room) => provisioned.destinations[room] ?? '',
    });
  },

  subscription(target, provisioned, subscriber): SubscribeSpec {
    if (target.transport !== 'stomp') throw new Error(`rabbitmq does not serve ${target.transport}`);
    const broker = brokerUrl(target.url);
    return {
      transport: 'stomp',
      url: () => broker.url,
      headers: target.headers,
      connectHeaders: () => connectHeadersOf(broker),
      destination: provisioned.destinations[subscriber.room] ?? '',
      subscribeHeaders: () => ({}),
      heartbeatMs: target.heartbeatMs,
      // The broker delivers the SEND body as it was: the content itself.
      read: (frame) => ({ messages: [{ content: frame.body, ...(frame.headers['message-id'] ? { id: frame.headers['message-id'] } : {}) }] }),
      errorCode: (frame) => frame.headers.message ?? 'ERROR',
    };
  },
};
