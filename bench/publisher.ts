import { Pool } from 'undici';
import { nowUs } from './clock.js';
import { endpoint } from '../clients/url.js';

export interface ScheduledSend {
  readonly seq: number;
  readonly chatRoomId: string;
  readonly scheduledUs: number;
  readonly content: string;
}

export interface PublishHooks {
  /** Called as the request starts, with the actual start time (open loop: never waits for earlier sends). */
  onSendStart(seq: number, actualUs: number): void;
  /** Round trip of the POST; `errorCode` null when the server answered 201. */
  onSendDone(seq: number, rttUs: number, errorCode: string | null): void;
}

/** Timers fire up to ~1 ms late; the last stretch before a send is waited with setImmediate instead. */
/**
 * Sends still unanswered beyond this are not queued: a server that stops answering must not make
 * the generator buffer without bound. Such a send is counted as failed (`GENERATOR_BACKPRESSURE`).
 */
export const MAX_IN_FLIGHT = 1024;
const SPIN_WINDOW_US = 1500;

/**
 * Publishes on a fixed schedule through `POST /messages`, open loop: each send starts at its
 * scheduled time whatever earlier sends are doing, over a pool of keep-alive connections, so a slow
 * answer delays nothing after it (no coordinated omission).
 */
export class Publisher {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    baseUrl: string,
    private readonly headers: Readonly<Record<string, string>>,
    connections = 16,
    private readonly timeoutMs = 10_000,
  ) {
    const url = endpoint(baseUrl, '/messages');
    this.path = url.pathname;
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  /** One POST; resolves with the HTTP status and round trip, never rejects. */
  async publish(chatRoomId: string, content: string): Promise<{ status: number; rttUs: number; errorCode: string | null }> {
    const startUs = nowUs();
    try {
      const response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ chatRoomId, content }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        // undici's timeouts start once a request is on a connection; this one also bounds the wait
        // in the pool's queue behind connections a stalled server never answers.
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body.dump();
      const rttUs = nowUs() - startUs;
      return { status: response.statusCode, rttUs, errorCode: response.statusCode === 201 ? null : `HTTP_${response.statusCode}` };
    } catch (error) {
      const err = error as { code?: string; name?: string };
      const code = err.name === 'TimeoutError' ? 'PUBLISH_TIMEOUT' : err.code ?? 'PUBLISH_ERROR';
      return { status: 0, rttUs: nowUs() - startUs, errorCode: code };
    }
  }

  /** Runs the whole schedule; resolves when every send has answered (or the signal aborted the rest). */
  async run(schedule: readonly ScheduledSend[], hooks: PublishHooks, signal: AbortSignal): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    let next = 0;
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let immediate: NodeJS.Immediate | null = null;
      const onAbort = (): void => {
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const tick = (): void => {
        timer = null;
        immediate = null;
        if (signal.aborted) return;
        const now = nowUs();
        while (next < schedule.length && (schedule[next] as ScheduledSend).scheduledUs <= now) {
          const send = schedule[next++] as ScheduledSend;
          hooks.onSendStart(send.seq, nowUs());
          if (inFlight.size >= MAX_IN_FLIGHT) {
            hooks.onSendDone(send.seq, 0, 'GENERATOR_BACKPRESSURE');
            continue;
          }
          const done = this.publish(send.chatRoomId, send.content).then(({ rttUs, errorCode }) => hooks.onSendDone(send.seq, rttUs, errorCode));
          inFlight.add(done);
          void done.finally(() => inFlight.delete(done));
        }
        if (next >= schedule.length) {
          signal.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        const waitUs = (schedule[next] as ScheduledSend).scheduledUs - nowUs();
        if (waitUs > SPIN_WINDOW_US) timer = setTimeout(tick, Math.floor((waitUs - SPIN_WINDOW_US) / 1000));
        else immediate = setImmediate(tick);
      };
      tick();
    });
    await Promise.allSettled([...inFlight]);
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
