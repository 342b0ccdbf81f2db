import type { Browser, CDPSession } from 'playwright-core';

/**
 * Pages that Playwright does not watch. Playwright turns on DevTools' network events in every page
 * it drives, and each request and WebSocket frame then costs the browser, the DevTools pipe and
 * rtbench's thread work that a user's browser does not do: about twice Chromium's CPU per `fetch`
 * on the development machine. A page made here lives in a browser context Playwright did not
 * create, so Playwright lets go of it, and rtbench speaks to it over its own session (through the
 * browser's, `Target.sendMessageToTarget`) with only what it needs: serve the blank page, evaluate
 * the clients' script, a clock probe now and then. Everything per message goes over the page's
 * loopback channel (next-channel.ts), not over DevTools.
 */
export class DetachedPages {
  private nextId = 0;
  private readonly answers = new Map<number, { readonly sessionId: string; resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private readonly pages = new Map<string, DetachedPage>();
  private readonly bySession = new Map<string, DetachedPage>();

  private constructor(private readonly session: CDPSession) {
    session.on('Target.receivedMessageFromTarget', (event) => this.received(event.sessionId, event.message));
    session.on('Target.targetCrashed', (event) => this.pages.get(event.targetId)?.gone('crashed'));
    session.on('Target.targetDestroyed', (event) => this.pages.get(event.targetId)?.gone('closed'));
    session.on('Target.detachedFromTarget', (event) => (event.sessionId ? this.bySession.get(event.sessionId)?.gone('closed') : undefined));
  }

  static async open(browser: Browser): Promise<DetachedPages> {
    const session = await browser.newBrowserCDPSession();
    await session.send('Target.setDiscoverTargets', { discover: true });
    const pages = new DetachedPages(session);
    browser.on('disconnected', () => {
      for (const page of pages.pages.values()) page.gone('closed');
    });
    return pages;
  }

  /**
   * A page at `url` whose document is `html` (answered by rtbench; no request reaches the server),
   * in a browser context of its own: its own connection pool, as a separate user's browser.
   */
  async open(url: string, html: string, ignoreHttpsErrors: boolean): Promise<DetachedPage> {
    const { browserContextId } = await this.session.send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await this.session.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await this.session.send('Target.attachToTarget', { targetId, flatten: false });
    const page = new DetachedPage((method, params) => this.call(sessionId, method, params));
    this.pages.set(targetId, page);
    this.bySession.set(sessionId, page);
    // A page that is gone answers nothing more: what was asked of it fails instead of waiting forever.
    page.onGone((why) => this.failCalls(sessionId, why));
    await page.load(url, html, ignoreHttpsErrors);
    return page;
  }

  private failCalls(sessionId: string, why: string): void {
    for (const [id, waiting] of this.answers) {
      if (waiting.sessionId !== sessionId) continue;
      this.answers.delete(id);
      waiting.reject(new Error(`the page ${why}`));
    }
  }

  /** One command on a page's session; its answer comes back as a message from the target. */
  private call(sessionId: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.answers.set(id, { sessionId, resolve, reject });
      this.session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch((error: Error) => {
        this.answers.delete(id);
        reject(error);
      });
    });
  }

  private received(sessionId: string, text: string): void {
    const message = JSON.parse(text) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> };
    if (message.id !== undefined) {
      const waiting = this.answers.get(message.id);
      this.answers.delete(message.id);
      if (message.error) waiting?.reject(new Error(message.error.message));
      else waiting?.resolve(message.result ?? {});
    } else if (message.method) this.bySession.get(sessionId)?.event(message.method, message.params ?? {});
  }
}

type Call = (method: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** A blank page served by rtbench itself loads at once; one that has not within this is stuck. */
const LOAD_LIMIT_MS = 15_000;

/** One page rtbench drives itself: its document served once, then scripts evaluated in it. */
export class DetachedPage {
  private readonly listeners = new Map<string, (params: Record<string, unknown>) => void>();
  private readonly goneListeners: Array<(why: string) => void> = [];
  private isGone = false;

  constructor(private readonly call: Call) {}

  /**
   * Serves `html` at `url` (the target's origin, so the page's requests are same-origin) and waits
   * for it to load, at most LOAD_LIMIT_MS.
   */
  async load(url: string, html: string, ignoreHttpsErrors: boolean): Promise<void> {
    if (ignoreHttpsErrors) await this.call('Security.setIgnoreCertificateErrors', { ignore: true });
    await this.call('Page.enable', {});
    // The load that counts is the one after this page's navigation, not about:blank's.
    let navigated = false;
    this.listeners.set('Page.frameNavigated', (params) => {
      const frame = params.frame as { parentId?: string; url?: string } | undefined;
      if (frame && !frame.parentId && frame.url === url) navigated = true;
    });
    let timer: NodeJS.Timeout | undefined;
    const loaded = new Promise<void>((resolve, reject) => {
      this.listeners.set('Page.loadEventFired', () => navigated && resolve());
      timer = setTimeout(() => reject(new Error(`the page did not load at ${url} within ${LOAD_LIMIT_MS} ms`)), LOAD_LIMIT_MS);
    });
    this.listeners.set('Fetch.requestPaused', (params) => {
      void this.call('Fetch.fulfillRequest', {
        requestId: params.requestId,
        responseCode: 200,
        responseHeaders: [{ name: 'content-type', value: 'text/html' }],
        body: Buffer.from(html).toString('base64'),
      }).catch(() => {});
    });
    await this.call('Fetch.enable', { patterns: [{ urlPattern: url }] });
    const navigation = await this.call('Page.navigate', { url });
    if (typeof navigation.errorText === 'string') throw new Error(`the page did not open at ${url}: ${navigation.errorText}`);
    try {
      await loaded;
    } finally {
      clearTimeout(timer);
    }
    for (const method of ['Page.frameNavigated', 'Page.loadEventFired', 'Fetch.requestPaused']) this.listeners.delete(method);
    // Nothing else is intercepted, and no page events are wanted from here on.
    await this.call('Fetch.disable', {});
    await this.call('Page.disable', {});
  }

  /** Evaluates `expression` in the page (awaiting a promise it returns) and gives back its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = (await this.call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result?: { value?: unknown };
      exceptionDetails?: { text?: string; exception?: { description?: string } };
    };
    if (answer.exceptionDetails) throw new Error(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text ?? 'the script threw');
    return answer.result?.value as T;
  }

  /** Hands each line the page logs (and each uncaught exception) to `listener`. */
  async onConsole(listener: (text: string) => void): Promise<void> {
    this.listeners.set('Runtime.consoleAPICalled', (params) => {
      const args = (params.args as Array<{ value?: unknown; description?: string }> | undefined) ?? [];
      listener(args.map((arg) => (arg.value !== undefined ? String(arg.value) : (arg.description ?? ''))).join(' '));
    });
    this.listeners.set('Runtime.exceptionThrown', (params) => {
      const details = params.exceptionDetails as { text?: string; exception?: { description?: string } } | undefined;
      listener(details?.exception?.description ?? details?.text ?? 'an exception');
    });
    await this.call('Runtime.enable', {});
  }

  /** Called once when the page crashes or closes (or its browser goes). */
  onGone(listener: (why: string) => void): void {
    this.goneListeners.push(listener);
  }

  event(method: string, params: Record<string, unknown>): void {
    if (method === 'Inspector.targetCrashed') this.gone('crashed');
    else this.listeners.get(method)?.(params);
  }

  gone(why: string): void {
    if (this.isGone) return;
    this.isGone = true;
    for (const listener of this.goneListeners) listener(why);
  }
}
