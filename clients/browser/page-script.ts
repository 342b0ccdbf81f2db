/**
 * What runs inside each Chromium page: the browser's own clients (EventSource, WebSocket, a fetch
 * loop, @stomp/stompjs), each arrival stamped the moment the page's handler runs and handed back to
 * Node in batches, where the subscriber thread's Recorder matches it like any other arrival.
 *
 * `installPageClients` is serialised with `toString()` and evaluated in the page: it must not refer
 * to anything outside itself, and its types are only for this file.
 */

/** One thing a page reports: [subscriber id, kind, page time (ms, timeOrigin + now), ...fields]. */
export type PageEvent =
  | readonly [id: number, kind: 'open', stampMs: number]
  | readonly [id: number, kind: 'ws', stampMs: number, text: string]
  | readonly [id: number, kind: 'sse', stampMs: number, type: string, data: string, lastEventId: string]
  | readonly [id: number, kind: 'stomp', stampMs: number, body: string, headers: Record<string, string>]
  | readonly [id: number, kind: 'error', stampMs: number, code: string]
  | readonly [id: number, kind: 'closed', stampMs: number, code: string];

/** What a subscriber is told to open; long polling and WebSocket ask again for each request or connection. */
export type PageSubscribe =
  | { readonly transport: 'sse'; readonly url: string; readonly openEvent: string | null; readonly events: readonly string[] }
  | { readonly transport: 'ws'; readonly protocols: readonly string[] }
  | { readonly transport: 'long-polling' }
  | {
      readonly transport: 'stomp';
      readonly url: string;
      readonly protocols: readonly string[];
      readonly connectHeaders: Record<string, string>;
      readonly destination: string;
      readonly subscribeHeaders: Record<string, string>;
      readonly heartbeatMs: number;
      readonly reconnectMs: number;
    };

/**
 * The answer to a page's question (page-channel.ts): where a WebSocket connects next,
 * or the next poll (after a wait), with the rule for the polls after it when the profile has one.
 */
export type PageNext = { readonly url: string; readonly headers: Record<string, string>; readonly waitMs: number; readonly follow?: PageFollowRule } | null;

/** clients/types.ts `PageFollow`, as the page holds it. */
export interface PageFollowRule {
  readonly url: string;
  readonly headers: Record<string, string>;
  cursor: number;
  readonly maxOf: string;
  readonly status: number;
  readonly askOn: readonly string[];
}

/** A long-poll answer as the page hands it back with its question. */
export type PollReport = ({ readonly stampMs: number; readonly status: number; readonly headers: Record<string, string>; readonly body: string } | { readonly stampMs: number; readonly error: string }) & {
  /** When the page issued this poll's request (page clock, ms). */
  readonly startedMs: number;
};

/** The few browser APIs the page clients use, typed here so the project needs no DOM library. */
interface PageEventSource {
  onopen: (() => void) | null;
  onerror: (() => void) | null;
  addEventListener(type: string, listener: (event: { readonly data: string; readonly lastEventId: string }) => void): void;
  close(): void;
}
interface PageWebSocket {
  onopen: (() => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: (() => void) | null;
  send(text: string): void;
  close(): void;
}
interface PageResponse {
  readonly status: number;
  readonly headers: { forEach(callback: (value: string, key: string) => void): void };
  text(): Promise<string>;
}
interface PageStompClient {
  onConnect: () => void;
  onStompError: (frame: { readonly body: string }) => void;
  onWebSocketClose: () => void;
  activate(): void;
  deactivate(): Promise<void>;
  subscribe(destination: string, callback: (message: { readonly body: string; readonly headers: Record<string, string> }) => void, headers: Record<string, string>): unknown;
}
interface PageGlobal {
  rtbSubscribe?: (id: number, spec: PageSubscribe) => void;
  rtbClose?: (id: number) => void;
  rtbNow?: () => number;
  rtbResolutionUs?: () => number;
  readonly performance: { readonly timeOrigin: number; now(): number };
  readonly EventSource: new (url: string) => PageEventSource;
  readonly WebSocket: new (url: string, protocols: string[]) => PageWebSocket;
  fetch(url: string, init: { headers: Record<string, string>; cache: string; signal: AbortSignal }): Promise<PageResponse>;
  setTimeout(callback: () => void, ms: number): number;
  clearTimeout(timer: number): void;
  readonly StompJs?: { readonly Client: new (config: Record<string, unknown>) => PageStompClient };
}

/**
 * Installs the clients and opens the page's channel to its subscriber thread (`channelUrl`, a
 * WebSocket on 127.0.0.1): every report, question and notice goes over it, in order. Rejects when
 * the channel does not open within `channelWaitMs`.
 */
export function installPageClients(flushMs: number, channelUrl: string, channelWaitMs: number): Promise<void> {
  const w = globalThis as unknown as PageGlobal;
  const now = (): number => w.performance.timeOrigin + w.performance.now();
  const socket = new w.WebSocket(channelUrl, []);
  let queue: unknown[] = [];
  let timer = 0;
  const flush = (): void => {
    timer = 0;
    const batch = queue;
    queue = [];
    if (batch.length > 0) socket.send(JSON.stringify(['r', batch]));
  };
  // Stamps are taken when each event fires; only their trip to Node is batched.
  const report = (event: unknown[]): void => {
    queue.push(event);
    if (timer === 0) timer = w.setTimeout(flush, flushMs);
  };
  const closers = new Map<number, () => void>();

  // What a subscriber does next: one question out at a time per subscriber, answered by id.
  const asked = new Map<number, (next: unknown) => void>();
  const next = (id: number, answer: unknown): Promise<unknown> =>
    new Promise((resolve) => {
      asked.set(id, resolve);
      socket.send(JSON.stringify(['n', id, answer]));
    });
  socket.onmessage = (event) => {
    const [id, answer] = JSON.parse(String(event.data)) as [number | 'flush', unknown];
    // Asked to flush: what this page holds goes first, then the answer, on the same socket.
    if (id === 'flush') {
      flush();
      return socket.send(JSON.stringify(['f', answer]));
    }
    const resolveNext = asked.get(id);
    asked.delete(id);
    resolveNext?.(answer);
  };
  const channelOpened = new Promise<void>((resolve, reject) => {
    const timeout = w.setTimeout(() => {
      socket.close();
      reject(new Error(`its channel to rtbench (${channelUrl.replace(/token=.*/, 'token=...')}) did not open within ${channelWaitMs} ms`));
    }, channelWaitMs);
    socket.onopen = () => {
      w.clearTimeout(timeout);
      resolve();
    };
  });

  /** The next poll by the profile's rule, from an answer that fits it; null when rtbench must be asked. */
  const followed = (rule: PageFollowRule, answer: { readonly status?: number; readonly headers?: Record<string, string>; readonly body?: string }): string | null => {
    if (answer.status !== rule.status || !answer.headers || answer.body === undefined) return null;
    for (const name of rule.askOn) if (name in answer.headers) return null;
    let items: unknown;
    try {
      items = JSON.parse(answer.body);
    } catch {
      return null;
    }
    if (!Array.isArray(items)) return null;
    for (const item of items as Array<Record<string, unknown> | null>) {
      const value = item?.[rule.maxOf];
      if (typeof value === 'number' && value > rule.cursor) rule.cursor = value;
    }
    return rule.url.split('{cursor}').join(String(rule.cursor));
  };

  function sse(id: number, spec: Extract<PageSubscribe, { transport: 'sse' }>): void {
    const source = new w.EventSource(spec.url);
    let open = false;
    const opened = (): void => {
      if (!open) report([id, 'open', now()]);
      open = true;
    };
    if (spec.openEvent === null) source.onopen = opened;
    else source.addEventListener(spec.openEvent, opened);
    for (const type of spec.events) {
      source.addEventListener(type, (event) => report([id, 'sse', now(), type, event.data, event.lastEventId]));
    }
    // EventSource reconnects by itself (with Last-Event-ID): that is the browser's behaviour, measured.
    source.onerror = () => {
      if (open) report([id, 'closed', now(), 'SSE_DISCONNECTED']);
      open = false;
    };
    closers.set(id, () => source.close());
  }

  function ws(id: number, spec: Extract<PageSubscribe, { transport: 'ws' }>): void {
    let closed = false;
    let socket: PageWebSocket | null = null;
    const connect = async (): Promise<void> => {
      // What happened to the last connection reaches rtbench before it is asked for the next one.
      flush();
      const to = (await next(id, null)) as PageNext;
      if (closed || to === null) return;
      if (to.waitMs > 0) await new Promise<void>((resolve) => w.setTimeout(resolve, to.waitMs));
      if (closed) return;
      const current = new w.WebSocket(to.url, [...spec.protocols]);
      socket = current;
      current.onopen = () => report([id, 'open', now()]);
      current.onmessage = (event) => report([id, 'ws', now(), String(event.data)]);
      current.onclose = () => {
        if (closed) return;
        report([id, 'closed', now(), 'WS_DISCONNECTED']);
        void connect();
      };
    };
    void connect();
    closers.set(id, () => {
      closed = true;
      socket?.close();
    });
  }

  function longPoll(id: number): void {
    let closed = false;
    let open = false;
    let controller: AbortController | null = null;
    const loop = async (): Promise<void> => {
      let answer: Record<string, unknown> | null = null;
      let rule: PageFollowRule | null = null;
      while (!closed) {
        // A chat page's script builds its next poll at once; so does this one where the profile says how.
        const own = rule && answer ? followed(rule, answer) : null;
        let poll: PageNext;
        if (rule && own !== null) poll = { url: own, headers: rule.headers, waitMs: 0 };
        else {
          poll = (await next(id, answer)) as PageNext;
          rule = poll?.follow ? { ...poll.follow } : null;
        }
        if (closed || poll === null) return;
        if (poll.waitMs > 0) await new Promise<void>((resolve) => w.setTimeout(resolve, poll.waitMs));
        controller = new AbortController();
        const startedMs = now();
        const request = w.fetch(poll.url, { headers: poll.headers, cache: 'no-store', signal: controller.signal });
        // Sent after the request is on its way: rtbench reads the answer and checks the URL.
        if (own !== null) socket.send(JSON.stringify(['p', id, answer, own]));
        if (!open) report([id, 'open', now()]);
        open = true;
        try {
          const response = await request;
          const body = await response.text();
          const stampMs = now();
          const headers: Record<string, string> = {};
          response.headers.forEach((value, key) => (headers[key] = value));
          answer = { stampMs, status: response.status, headers, body, startedMs };
        } catch {
          answer = { stampMs: now(), error: closed ? 'LP_CLOSED' : 'LP_FETCH_FAILED', startedMs };
        }
      }
    };
    void loop();
    closers.set(id, () => {
      closed = true;
      controller?.abort();
    });
  }

  function stomp(id: number, spec: Extract<PageSubscribe, { transport: 'stomp' }>): void {
    if (!w.StompJs) {
      report([id, 'error', now(), 'STOMPJS_MISSING']);
      return;
    }
    let open = false;
    const client = new w.StompJs.Client({
      brokerURL: spec.url,
      connectHeaders: spec.connectHeaders,
      heartbeatIncoming: spec.heartbeatMs,
      heartbeatOutgoing: spec.heartbeatMs,
      reconnectDelay: spec.reconnectMs,
      ...(spec.protocols.length > 0 ? { webSocketFactory: () => new w.WebSocket(spec.url, [...spec.protocols]) } : {}),
    });
    client.onConnect = () => {
      client.subscribe(spec.destination, (message) => report([id, 'stomp', now(), message.body, { ...message.headers }]), spec.subscribeHeaders);
      report([id, 'open', now()]);
      open = true;
    };
    client.onStompError = () => report([id, 'error', now(), 'STOMP_ERROR_FRAME']);
    client.onWebSocketClose = () => {
      if (open) report([id, 'closed', now(), 'STOMP_DISCONNECTED']);
      open = false;
    };
    client.activate();
    closers.set(id, () => void client.deactivate());
  }

  w.rtbSubscribe = (id: number, spec: PageSubscribe): void => {
    if (spec.transport === 'sse') sse(id, spec);
    else if (spec.transport === 'ws') ws(id, spec);
    else if (spec.transport === 'long-polling') longPoll(id);
    else stomp(id, spec);
  };
  w.rtbClose = (id: number): void => {
    closers.get(id)?.();
    closers.delete(id);
  };
  w.rtbNow = now;
  w.rtbResolutionUs = (): number => {
    // The smallest step the clock takes, seen over at most 20 ms of reading it.
    let smallestMs = Number.POSITIVE_INFINITY;
    const untilMs = w.performance.now() + 20;
    let last = w.performance.now();
    for (let reads = 0; reads < 1_000_000; reads++) {
      const current = w.performance.now();
      if (current > last) smallestMs = Math.min(smallestMs, current - last);
      last = current;
      if (current > untilMs) break;
    }
    return smallestMs * 1000;
  };
  return channelOpened;
}
