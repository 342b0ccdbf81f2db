/**
 * The transport registry: the one place a transport's name appears. Clients (`clients/index.ts`),
 * the reference server (`servers/app.ts`) and every report key their own parts by `TransportName`,
 * so the compiler makes a new transport complete everywhere once it is added here.
 */
export const TRANSPORTS = ['ws', 'sse', 'long-polling', 'stomp'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export interface TransportInfo {
  /** As tables and charts name it. */
  readonly label: string;
  /** What the server does to deliver: push over an open connection, or answer a waiting request. */
  readonly direction: 'server-push' | 'poll';
  /** What a proxy or load balancer in front of it must allow (the study's 4-3 question). */
  readonly needsFromProxy: string;
  /** One colour per transport, the same in every chart. */
  readonly colour: string;
}

export const TRANSPORT_INFO: Readonly<Record<TransportName, TransportInfo>> = {
  ws: {
    label: 'WebSocket',
    direction: 'server-push',
    needsFromProxy: 'HTTP/1.1 Upgrade passed through, idle timeout above the heartbeat, sticky sessions or a shared bus',
    colour: '#1f77b4',
  },
  sse: {
    label: 'SSE',
    direction: 'server-push',
    needsFromProxy: 'response buffering off (X-Accel-Buffering: no), a read timeout above the heartbeat, a shared bus for resume',
    colour: '#2ca02c',
  },
  'long-polling': {
    label: 'Long Polling',
    direction: 'poll',
    needsFromProxy: 'a read timeout above the poll timeout; any plain HTTP load balancing (no stickiness with a cursor and a shared bus)',
    colour: '#d62728',
  },
  stomp: {
    label: 'STOMP',
    direction: 'server-push',
    needsFromProxy: 'as WebSocket, plus heart-beats shorter than the idle timeout',
    colour: '#9467bd',
  },
};

export function isTransport(name: string): name is TransportName {
  return (TRANSPORTS as readonly string[]).includes(name);
}

export function transportLabel(name: string): string {
  return isTransport(name) ? TRANSPORT_INFO[name].label : name;
}
