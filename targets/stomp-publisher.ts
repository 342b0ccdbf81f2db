import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { nowUs } from '../core/clock.js';
import type { PublishChannel, PublishOutcome } from './types.js';

export interface StompPublishOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectHeaders: Readonly<Record<string, string>>;
  /** STOMP connections to spread SENDs over (round robin). */
  readonly connections: number;
  readonly timeoutMs: number;
  destination(room: number): string;
}

/** Opens one STOMP connection; resolves once CONNECTED, rejects on ERROR, close or timeout. */
export function connectStomp(options: { url: string; headers: Readonly<Record<string, string>>; connectHeaders: Readonly<Record<string, string>>; timeoutMs: number; heartbeatMs?: number }): Promise<Client> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(Object.assign(new Error(`no CONNECTED from ${options.url} within ${options.timeoutMs} ms`), { code: 'STOMP_CONNECT_TIMEOUT' })), options.timeoutMs);
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void client.deactivate({ force: true });
      reject(error);
    };
    const client = new Client({
      webSocketFactory: () => new WebSocket(options.url, [], { headers: { ...options.headers }, handshakeTimeout: options.timeoutMs, perMessageDeflate: false }),
      connectHeaders: { ...options.connectHeaders },
      heartbeatIncoming: options.heartbeatMs ?? 0,
      heartbeatOutgoing: options.heartbeatMs ?? 0,
      reconnectDelay: 0,
      debug: () => {},
      onConnect: () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(client);
      },
      onStompError: (frame) => fail(Object.assign(new Error(`STOMP ERROR: ${frame.headers.message ?? frame.body}`), { code: 'STOMP_ERROR' })),
      onWebSocketClose: (event: { code?: number }) => fail(Object.assign(new Error(`WebSocket closed (${event.code ?? 0}) before CONNECTED`), { code: `WS_CLOSE_${event.code ?? 0}` })),
      onWebSocketError: () => fail(Object.assign(new Error(`WebSocket to ${options.url} failed`), { code: 'WS_ERROR' })),
    });
    client.activate();
  });
}

/**
 * Publishes with STOMP SEND, each with a `receipt` header: the RECEIPT is the broker's word that it
 * took the message, so its arrival ends the publish round trip. Connections are opened on first use.
 */
export function stompPublisher(options: StompPublishOptions): PublishChannel {
  let clients: Promise<Client[]> | null = null;
  let next = 0;
  let receiptSeq = 0;
  const open = (): Promise<Client[]> => {
    clients ??= Promise.all(Array.from({ length: options.connections }, () => connectStomp({ ...options })));
    return clients;
  };
  return {
    async publish(room, content): Promise<PublishOutcome> {
      const startUs = nowUs();
      let pool: Client[];
      try {
        pool = await open();
      } catch (error) {
        clients = null;
        return { rttUs: nowUs() - startUs, errorCode: (error as { code?: string }).code ?? 'STOMP_ERROR' };
      }
      const client = pool[next++ % pool.length] as Client;
      if (!client.connected) return { rttUs: nowUs() - startUs, errorCode: 'STOMP_DISCONNECTED' };
      const receipt = `p${++receiptSeq}`;
      return new Promise<PublishOutcome>((resolve) => {
        const timer = setTimeout(() => resolve({ rttUs: nowUs() - startUs, errorCode: 'PUBLISH_TIMEOUT' }), options.timeoutMs);
        client.watchForReceipt(receipt, () => {
          clearTimeout(timer);
          resolve({ rttUs: nowUs() - startUs, errorCode: null });
        });
        client.publish({ destination: options.destination(room), body: content, headers: { receipt, 'content-type': 'text/plain' } });
      });
    },
    async close() {
      const pool = await clients?.catch(() => []);
      await Promise.all((pool ?? []).map((client) => client.deactivate({ force: true })));
    },
  };
}
