import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { type LatencyStats, latencyStats, newHistogram, recordUs } from '../../core/histogram.js';
import type { TransportName } from '../../core/transports.js';
import { reconnectDelayMs } from '../reconnect.js';
import type { ClientContext, Cursor, Delivery, SubscribeSpec, SubscriberHandlers, Subscription, SubscriptionStats, TransportClient } from '../types.js';
import { browserProcesses, launchChromium, processUsage } from './chromium.js';
import { type PageEvent, type PageNext, type PageSubscribe, type PollReport, installPageClients } from './page-script.js';
import { type PageClock, alignPageClock } from './page-clock.js';
import { PageChannel } from './page-channel.js';
import { type DetachedPage, DetachedPages } from './detached-page.js';

/** How the subscribers of one thread live in Chromium. */
export interface BrowserOptions {
  readonly chromiumPath: string;
  /** Subscribers that share one page (and its browser context's connection pool). */
  readonly perPage: number;
  /** Marks this launch's processes (chromium.ts `launchTag`). */
  readonly tag: string;
  /** The target's base URL: each page is opened on its origin, so its requests are same-origin. */
  readonly originUrl: string;
  /** Accept the target's certificate without checking it: the run trusts a certificate Chromium cannot be given (the built-in server's throwaway one, --ca, --insecure). */
  readonly ignoreHttpsErrors: boolean;
}

/** What the pages of one thread did, for the step's result. */
export interface BrowserStatus {
  /** The Chromium that ran the pages, as it names itself (e.g. 156.0.8078.129); null before it started. */
  readonly version: string | null;
  readonly pages: number;
  readonly crashedPages: number;
  /** The worst page's clock alignment: half the shortest round trip of its probes (µs). */
  readonly clockUncertaintyUs: number;
  /** The smallest step of the page's clock that was seen (µs): Chromium coarsens `performance.now()`. */
  readonly timerResolutionUs: number;
  /** CPU time (ms) of every process of the launch since it started, and their memory now (bytes, proportional set sizes summed). */
  readonly cpuMs: number;
  readonly memoryBytes: number;
  /**
   * Long polling: from a poll's answer in the page to the page's next request, since the step began.
   * A message that comes meanwhile waits for that request. Null when no page long-polled twice.
   */
  readonly pollGapUs: LatencyStats | null;
  /** Long polls since the step began that the page built by the profile's rule, and those it asked rtbench for. */
  readonly polls: { readonly own: number; readonly asked: number };
  /** What troubled the pages' subscribers since the step began (a poll the page built that rtbench would not have sent, a lost channel), by code. */
  readonly errors: Readonly<Record<string, number>>;
}

/** Between a page's arrivals and their trip to Node (stamps are taken before). */
const FLUSH_MS = 10;

/** How long a page waits for its loopback channel to rtbench to open before it counts as failed. */
const CHANNEL_WAIT_MS = 5_000;

/** How long a flush waits for a page's answer (a page that does not answer is busy or gone). */
const FLUSH_LIMIT_MS = 2_000;

interface Slot {
  readonly index: number;
  readonly page: DetachedPage;
  readonly clock: PageClock;
  crashed: boolean;
  readonly subscribers: Set<PageSubscriber>;
}

/** Why a browser cannot subscribe as this profile asks (it sends headers, or frames of its own); null when it can. */
export function browserCannot(spec: SubscribeSpec): string | null {
  switch (spec.transport) {
    case 'sse':
      return Object.keys(spec.headers(null)).length > 0 ? 'BROWSER_NEEDS_HEADERS' : null;
    case 'ws':
      return Object.keys(spec.headers).length > 0 ? 'BROWSER_NEEDS_HEADERS' : spec.open ? 'BROWSER_NEEDS_OPEN_FRAME' : null;
    case 'stomp':
      return Object.keys(spec.headers).length > 0 ? 'BROWSER_NEEDS_HEADERS' : spec.open ? 'BROWSER_NEEDS_OPEN_FRAME' : null;
    case 'long-polling':
      return spec.open || spec.sendRequest ? 'BROWSER_NEEDS_SEND' : null;
  }
}

/** One subscriber living in a page: its counters, and what it does with what the page reports. */
class PageSubscriber implements Subscription {
  readonly ready: Promise<void>;
  resolveReady!: () => void;
  rejectReady!: (error: Error) => void;
  private state = { connected: false, everOpened: false, reconnects: 0, disconnects: 0, failedAttempts: 0, openedUs: 0, gaps: 0, attempt: 0 };
  /** A connection was lost or refused since the last one opened: the next waits, backing off. */
  failedSinceOpen = false;
  cursor: Cursor | null = null;
  slot: Slot | null = null;
  /** Long polling: when the page had the last answer's body (page clock, ms). */
  lastAnswerMs: number | null = null;

  constructor(
    readonly id: number,
    readonly spec: SubscribeSpec,
    readonly handlers: SubscriberHandlers,
    private readonly context: ClientContext,
    private readonly onClose: (subscriber: PageSubscriber) => Promise<void>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
  }

  opened(receivedUs: number): void {
    if (this.state.everOpened) this.state.reconnects++;
    this.state.everOpened = true;
    this.state.connected = true;
    this.state.attempt = 0;
    this.failedSinceOpen = false;
    this.state.openedUs = receivedUs;
    this.resolveReady();
  }

  lost(code: string): void {
    if (this.state.connected) this.state.disconnects++;
    else if (this.state.everOpened) this.state.failedAttempts++;
    this.state.connected = false;
    this.failedSinceOpen = true;
    this.handlers.onError?.(code);
  }

  /** The wait before the next connection or poll after a failure, as every rtbench client backs off. */
  nextWaitMs(failed: boolean): number {
    if (!failed) return 0;
    return Math.round(reconnectDelayMs(this.context.reconnect, this.state.attempt++, this.context.random));
  }

  deliver(delivery: Delivery, receivedUs: number): void {
    for (const message of delivery.messages) this.handlers.onMessage(message.content, receivedUs, message.id);
    if (delivery.cursor !== undefined) this.cursor = delivery.cursor;
    if (delivery.gap) {
      this.state.gaps++;
      this.handlers.onGap?.(delivery.gap.from, delivery.gap.to);
    }
    if (delivery.error) this.handlers.onError?.(delivery.error);
  }

  /** A profile that answers on the subscription (a pong) cannot, from a page: counted, never silent. */
  readonly cannotSend = (): void => this.handlers.onError?.('BROWSER_SEND_UNSUPPORTED');

  stats(): SubscriptionStats {
    const { connected, reconnects, disconnects, failedAttempts, openedUs, gaps } = this.state;
    return { connected, reconnects, disconnects, failedAttempts, openedUs, gaps, sends: 0, cursor: this.cursor, protocol: null };
  }

  interrupt(): void {
    // A page's connection is the browser's: rtbench cuts it from the outside (the proxy), not here.
  }

  close(): Promise<void> {
    return this.onClose(this);
  }
}

/**
 * A transport client whose subscribers are Chromium pages, `perPage` to a page, each page in its own
 * browser context (its own connection pool, as a separate user's browser). Each page runs the
 * browser's own client for the transport (page-script.ts); what it reports is read by the target
 * profile's `read`, exactly as for a Node subscriber, and stamped with the page's time on this
 * thread's clock.
 */
export class BrowserClient implements TransportClient {
  private browser: Promise<Browser> | null = null;
  private readonly slots: Array<Promise<Slot>> = [];
  private driver: Promise<DetachedPages> | null = null;
  /** Pages by their index, for what comes over the channel. */
  private readonly pages = new Map<number, Slot>();
  private channel: Promise<PageChannel> | null = null;
  private readonly byId = new Map<number, PageSubscriber>();
  private count = 0;
  private crashedPages = 0;
  /** Long polling: each answer-to-next-request gap in the pages (µs), and how each next poll was made. */
  private readonly pollGaps = newHistogram();
  private polls = { own: 0, asked: 0 };
  private errors: Record<string, number> = {};

  constructor(
    readonly name: TransportName,
    private readonly options: BrowserOptions,
  ) {}

  subscribe(context: ClientContext, spec: SubscribeSpec, handlers: SubscriberHandlers): Subscription {
    const id = this.count++;
    const counted: SubscriberHandlers = {
      ...handlers,
      onError: (code) => {
        this.errors[code] = (this.errors[code] ?? 0) + 1;
        handlers.onError?.(code);
      },
    };
    const subscriber = new PageSubscriber(id, spec, counted, context, (s) => this.unsubscribe(s));
    const cannot = browserCannot(spec);
    if (cannot) {
      subscriber.rejectReady(Object.assign(new Error(`a page cannot subscribe as profile asks (${cannot})`), { code: cannot }));
      return subscriber;
    }
    this.byId.set(id, subscriber);
    void this.start(subscriber, Math.floor(id / this.options.perPage), context.connectTimeoutMs);
    return subscriber;
  }

  private async start(subscriber: PageSubscriber, slotIndex: number, limitMs: number): Promise<void> {
    let slot: Slot;
    try {
      slot = await this.slot(slotIndex);
    } catch (error) {
      if (process.env.RTBENCH_PAGE_CONSOLE) process.stderr.write(`page: ${(error as Error).message}\n`);
      subscriber.rejectReady(Object.assign(new Error(`Chromium page failed: ${(error as Error).message}`), { code: 'BROWSER_PAGE_FAILED' }));
      return;
    }
    subscriber.slot = slot;
    slot.subscribers.add(subscriber);
    // Once its page is up, a subscription that does not open within the limit waits on the
    // browser itself (six HTTP/1.1 connections per origin): reported as such, not as a failure of the server.
    const timer = setTimeout(() => subscriber.rejectReady(Object.assign(new Error('still waiting to open in its page'), { code: 'BROWSER_WAITING' })), limitMs);
    void subscriber.ready.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    try {
      await slot.page.evaluate(`rtbSubscribe(${subscriber.id}, ${JSON.stringify(pageSpec(subscriber.spec, subscriber))})`);
    } catch (error) {
      subscriber.rejectReady(Object.assign(new Error(`Chromium page failed: ${(error as Error).message}`), { code: 'BROWSER_PAGE_FAILED' }));
    }
  }

  private slot(index: number): Promise<Slot> {
    this.slots[index] ??= this.openSlot(index);
    return this.slots[index] as Promise<Slot>;
  }

  private async openSlot(index: number): Promise<Slot> {
    this.browser ??= launchChromium(this.options.chromiumPath, this.options.tag);
    this.driver ??= this.browser.then((browser) => DetachedPages.open(browser));
    this.channel ??= PageChannel.open({
      next: (page, id, answer, usedUrl) => {
        const slot = this.pages.get(page);
        return slot ? this.onNext(id, answer as PollReport | null, slot, usedUrl) : null;
      },
      report: (page, events) => {
        const slot = this.pages.get(page);
        if (slot) this.onReport(events as PageEvent[], slot);
      },
      // A page that can no longer report has lost its subscribers, as if it had crashed.
      closed: (page) => {
        const slot = this.pages.get(page);
        if (slot) this.crashed(slot);
      },
    });
    const [driver, channel] = await Promise.all([this.driver, this.channel]);
    // The page is a blank one on the target's own origin, served by rtbench (no request reaches the
    // server): every request it makes is same-origin, so a server that does not allow rtbench's
    // origin (CORS) is measured all the same.
    const subscriberPage = new URL('/rtbench-subscriber-page', this.options.originUrl).toString();
    const page = await driver.open(subscriberPage, '<!doctype html><title>rtbench subscribers</title>', this.options.ignoreHttpsErrors);
    if (process.env.RTBENCH_PAGE_CONSOLE) await page.onConsole((text) => process.stderr.write(`page: ${text}\n`));
    // @stomp/stompjs's CommonJS entry is its UMD bundle: the build a page loads with a script tag.
    if (this.name === 'stomp') await page.evaluate(readFileSync(createRequire(import.meta.url).resolve('@stomp/stompjs'), 'utf8'));
    await page.evaluate(`(${installPageClients.toString()})(${FLUSH_MS}, ${JSON.stringify(channel.urlFor(index))}, ${CHANNEL_WAIT_MS})`);
    const clock = await alignPageClock(
      () => page.evaluate<number>('rtbNow()'),
      () => page.evaluate<number>('rtbResolutionUs()'),
    );
    const slot: Slot = { index, page, clock, crashed: false, subscribers: new Set() };
    this.pages.set(index, slot);
    page.onGone(() => this.crashed(slot));
    return slot;
  }

  private crashed(slot: Slot): void {
    if (slot.crashed) return;
    slot.crashed = true;
    this.crashedPages++;
    for (const subscriber of slot.subscribers) {
      subscriber.lost('BROWSER_CRASHED');
      subscriber.rejectReady(Object.assign(new Error('its page crashed'), { code: 'BROWSER_CRASHED' }));
    }
  }

  /** A page's clock in ms since the epoch, on this thread's monotonic clock in µs. */
  private static receivedUs(slot: Slot, stampMs: number): number {
    return Math.round(stampMs * 1000 - slot.clock.offsetUs);
  }

  private onReport(batch: readonly PageEvent[], slot: Slot): void {
    for (const event of batch) {
      const subscriber = this.byId.get(event[0]);
      if (!subscriber) continue;
      const receivedUs = BrowserClient.receivedUs(slot, event[2]);
      const spec = subscriber.spec;
      switch (event[1]) {
        case 'open':
          subscriber.opened(receivedUs);
          break;
        case 'ws':
          if (spec.transport === 'ws') subscriber.deliver(spec.read(event[3], subscriber.cursor, subscriber.cannotSend), receivedUs);
          break;
        case 'sse':
          if (spec.transport === 'sse') subscriber.deliver(spec.read({ type: event[3], data: event[4], lastEventId: event[5] }, subscriber.cursor), receivedUs);
          break;
        case 'stomp':
          if (spec.transport === 'stomp') subscriber.deliver(spec.read({ body: event[3], headers: event[4] }, subscriber.cursor, subscriber.cannotSend), receivedUs);
          break;
        case 'error':
        case 'closed':
          subscriber.lost(event[3]);
          break;
      }
    }
  }

  /**
   * Where a page's WebSocket connects next, or its next poll, after reading the last poll's answer.
   * With `usedUrl` the page has already sent its next poll, built by the profile's `pageFollow`
   * rule: the answer is read as any other, and a poll other than the one `poll` gives is an error.
   */
  private onNext(id: number, answer: PollReport | null, slot: Slot, usedUrl?: string): PageNext {
    const subscriber = this.byId.get(id);
    if (!subscriber) return null;
    const spec = subscriber.spec;
    if (spec.transport === 'ws') return { url: spec.url(subscriber.cursor), headers: {}, waitMs: subscriber.nextWaitMs(subscriber.failedSinceOpen) };
    if (spec.transport !== 'long-polling') return null;
    let failed = false;
    if (answer && subscriber.lastAnswerMs !== null) recordUs(this.pollGaps, (answer.startedMs - subscriber.lastAnswerMs) * 1000);
    // After a failed poll the next one waits by the reconnect policy: that wait is not a gap to time.
    if (answer) subscriber.lastAnswerMs = 'error' in answer ? null : answer.stampMs;
    if (answer && 'error' in answer) {
      subscriber.lost(answer.error);
      failed = true;
    } else if (answer) {
      const delivery = spec.read({ status: answer.status, headers: answer.headers, body: answer.body }, subscriber.cursor, subscriber.cannotSend);
      subscriber.deliver(delivery, BrowserClient.receivedUs(slot, answer.stampMs));
      failed = delivery.ends === true;
    }
    const poll = spec.poll(subscriber.cursor);
    if (usedUrl !== undefined) {
      this.polls.own++;
      if (failed || usedUrl !== poll.url) subscriber.handlers.onError?.('BROWSER_POLL_MISMATCH');
      return null;
    }
    this.polls.asked++;
    // Sent as JSON over the page's channel: nothing here needs copying.
    const follow = spec.pageFollow?.(subscriber.cursor);
    return { url: poll.url, headers: poll.headers, waitMs: subscriber.nextWaitMs(failed), ...(follow ? { follow } : {}) };
  }

  private async unsubscribe(subscriber: PageSubscriber): Promise<void> {
    this.byId.delete(subscriber.id);
    subscriber.rejectReady(Object.assign(new Error('closed'), { code: 'CLOSED' }));
    const slot = subscriber.slot;
    if (!slot || slot.crashed) return;
    slot.subscribers.delete(subscriber);
    await slot.page.evaluate(`rtbClose(${subscriber.id})`).catch(() => {});
  }

  /** Subscribers of this thread's pages connected now. */
  connectedCount(): number {
    let n = 0;
    for (const subscriber of this.byId.values()) if (subscriber.stats().connected) n++;
    return n;
  }

  /** Every page opened so far; null for one that failed to open. */
  private settledSlots(): Promise<Array<Slot | null>> {
    return Promise.all(this.slots.map((slot) => slot.catch(() => null)));
  }

  async status(): Promise<BrowserStatus> {
    const slots = await this.settledSlots();
    const clocks = slots.flatMap((slot) => (slot ? [slot.clock] : []));
    const usage = processUsage(browserProcesses(this.options.tag));
    const browser = this.browser ? await this.browser.catch(() => null) : null;
    return {
      version: browser?.version() ?? null,
      pages: slots.filter(Boolean).length,
      crashedPages: this.crashedPages,
      clockUncertaintyUs: clocks.reduce((max, c) => Math.max(max, c.uncertaintyUs), 0),
      timerResolutionUs: clocks.reduce((max, c) => Math.max(max, c.resolutionUs), 0),
      ...usage,
      pollGapUs: this.pollGaps.totalCount > 0 ? latencyStats(this.pollGaps) : null,
      polls: { ...this.polls },
      errors: { ...this.errors },
    };
  }

  /** Starts the poll gaps and the counts afresh: a step reports its own. */
  resetStep(): void {
    this.pollGaps.reset();
    this.polls = { own: 0, asked: 0 };
    this.errors = {};
  }

  /** Asks each page to hand over what it has stamped but not yet sent, and waits until it has come. */
  async flush(): Promise<void> {
    const slots = await this.settledSlots();
    const channel = await this.channel?.catch(() => null);
    if (!channel) return;
    await Promise.all(slots.map((slot) => (slot && !slot.crashed ? channel.flush(slot.index, FLUSH_LIMIT_MS) : null)));
  }

  async shutdown(): Promise<void> {
    // Pages gone with the browser are not crashes.
    for (const slot of this.pages.values()) slot.crashed = true;
    if (this.browser) {
      const browser = await this.browser.catch(() => null);
      await browser?.close().catch(() => {});
    }
    const channel = await this.channel?.catch(() => null);
    await channel?.close();
  }
}

/** What the page is told to open for one subscriber. */
function pageSpec(spec: SubscribeSpec, subscriber: PageSubscriber): PageSubscribe {
  switch (spec.transport) {
    case 'sse':
      return { transport: 'sse', url: spec.url(subscriber.cursor), openEvent: spec.openEvent, events: [...spec.events] };
    case 'ws':
      return { transport: 'ws', protocols: [...(spec.protocols ?? [])] };
    case 'long-polling':
      return { transport: 'long-polling' };
    case 'stomp':
      return {
        transport: 'stomp',
        url: spec.url(subscriber.cursor),
        protocols: [...(spec.protocols ?? [])],
        connectHeaders: { ...spec.connectHeaders() },
        destination: spec.destination,
        subscribeHeaders: { ...spec.subscribeHeaders(subscriber.cursor) },
        heartbeatMs: spec.heartbeatMs,
        reconnectMs: 1000,
      };
  }
}
