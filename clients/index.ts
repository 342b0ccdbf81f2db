import { longPollingClient } from './long-polling.js';
import { sseClient } from './sse.js';
import type { TransportClient, TransportName } from './types.js';
import { wsClient } from './ws.js';

/** The transport registry: a new transport is one file and one line here. */
export const CLIENTS: Readonly<Record<TransportName, TransportClient>> = {
  ws: wsClient,
  sse: sseClient,
  'long-polling': longPollingClient,
};

export type { ClientContext, SubscriberHandlers, Subscription, TransportClient, TransportName } from './types.js';
