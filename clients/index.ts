import type { TransportName } from '../core/transports.js';
import { longPollingClient } from './long-polling.js';
import { sseClient } from './sse.js';
import { stompClient } from './stomp.js';
import type { TransportClient } from './types.js';
import { wsClient } from './ws.js';

/** One client per transport of the registry (core/transports.ts); the compiler checks none is missing. */
export const CLIENTS: { readonly [T in TransportName]: TransportClient<T> } = {
  ws: wsClient,
  sse: sseClient,
  'long-polling': longPollingClient,
  stomp: stompClient,
};

export type * from './types.js';
