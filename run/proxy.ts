import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Random, seededRandom } from '../core/random.js';

export type DelayMode = 'link' | 'request';

export interface DelayProxyOptions {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** One-way delay added to each direction. */
  readonly delayMs: number;
  /** Each chunk's delay is drawn uniformly from delayMs ± jitterMs (never below 0, never reordering). */
  readonly jitterMs: number;
  /**
   * `link`: every chunk in both directions is delayed, as a real link would (pushed frames included).
   * `request`: only the start of each HTTP request or upgrade is delayed, client to server, as the
   * original study's nginx `sleep` did; bytes pushed over an open connection pass undelayed.
   */
  readonly mode: DelayMode;
  readonly seed: number;
  /** Random loss draws once per this period (default 1000 ms; shorter only in tests). */
  readonly lossPeriodMs?: number;
}

/** Draws a random-loss window of `ms` makes: one at its start and one per full period after. */
export function lossDrawCount(ms: number, periodMs: number): number {
  return ms > 0 ? Math.ceil(ms / periodMs) : 0;
}

/** Unsent bytes per direction before the proxy stops reading from the sender (backpressure). */
export const HIGH_WATER_BYTES = 1024 * 1024;
const HTTP_REQUEST_START = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /;

interface Queued {
  readonly releaseAtMs: number;
  readonly chunk: Buffer | null; // null: the sender ended; end the receiver once everything before it is out
}

/**
 * One direction of one connection: chunks leave in arrival order, each no earlier than its own
 * release time. A release time is never earlier than the previous one, so jitter cannot reorder bytes.
 */
class DelayedPipe {
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private lastReleaseMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly delayOf: (chunk: Buffer) => number,
    /** Nothing leaves before this time (performance.now() ms): a stalled direction of the link. */
    private readonly stalledUntilMs: () => number,
    /** Told the bytes queued after each push, so the proxy can report its peak buffering. */
    private readonly onQueued: (bytes: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk, this.delayOf(chunk)));
    from.on('end', () => this.push(null, 0));
    to.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  private push(chunk: Buffer | null, delayMs: number): void {
    const releaseAtMs = Math.max(performance.now() + delayMs, this.lastReleaseMs, this.stalledUntilMs());
    this.lastReleaseMs = releaseAtMs;
    this.queue.push({ releaseAtMs, chunk });
    if (chunk) {
      this.queuedBytes += chunk.length;
      this.onQueued(this.queuedBytes);
      if (this.queuedBytes > HIGH_WATER_BYTES) this.from.pause();
    }
    this.flush();
  }

  private flush(): void {
    if (this.timer || this.waitingForDrain) return;
    const now = performance.now();
    while (this.queue.length > 0) {
      const head = this.queue[0] as Queued;
      if (head.releaseAtMs > now) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.flush();
        }, Math.ceil(head.releaseAtMs - now));
        return;
      }
      this.queue.shift();
      if (head.chunk === null) {
        this.to.end();
        return;
      }
      this.queuedBytes -= head.chunk.length;
      if (this.queuedBytes <= HIGH_WATER_BYTES / 2 && this.from.isPaused()) this.from.resume();
      if (this.to.destroyed) return;
      if (!this.to.write(head.chunk)) {
        this.waitingForDrain = true;
        return;
      }
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

/**
 * A TCP proxy on node:net between clients and a server that adds one-way delay per direction. It
 * also cuts connections on demand and can refuse new ones, which is how rtbench simulates failures.
 */
export class DelayProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly pairs = new Set<readonly [net.Socket, net.Socket]>();
  private readonly random: Random;
  private refusing = false;
  /** Per direction, the time until which bytes are held (a one-way stall); bytes are kept, never dropped. */
  private readonly stalledUntil = { up: 0, down: 0 };
  private lossTimer: NodeJS.Timeout | null = null;
  private readonly lossPeriodMs: number;
  /** Connections accepted since start. */
  accepted = 0;
  /** Random-loss draws made, and the connections they cut, since start. */
  lossDraws = 0;
  lossCuts = 0;
  /** Most bytes ever queued in one direction of one connection (bounded by backpressure). */
  peakQueuedBytes = 0;

  constructor(private readonly options: DelayProxyOptions) {
    if (!(options.delayMs >= 0) || !(options.jitterMs >= 0)) throw new RangeError('delayMs and jitterMs must be >= 0');
    this.random = seededRandom(options.seed);
    this.lossPeriodMs = options.lossPeriodMs ?? 1000;
    // Half-open sockets: a sender that ends its side (FIN) still gets its last bytes delivered
    // after the delay, and the end passed on after them, instead of the pair closing at once.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(client));
  }

  private linkDelayMs(): number {
    const { delayMs, jitterMs } = this.options;
    if (jitterMs === 0) return delayMs;
    return Math.max(0, delayMs + (this.random() * 2 - 1) * jitterMs);
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort, noDelay: true, allowHalfOpen: true });
    this.sockets.add(client).add(upstream);
    let upgraded = false;
    const toServerDelay =
      this.options.mode === 'link'
        ? () => this.linkDelayMs()
        : (chunk: Buffer) => (!upgraded && HTTP_REQUEST_START.test(chunk.toString('latin1', 0, 8)) ? this.linkDelayMs() : 0);
    const toClientDelay =
      this.options.mode === 'link'
        ? () => this.linkDelayMs()
        : (chunk: Buffer) => {
            if (chunk.toString('latin1', 0, 12).startsWith('HTTP/1.1 101')) upgraded = true;
            return 0;
          };
    const onQueued = (bytes: number): void => {
      if (bytes > this.peakQueuedBytes) this.peakQueuedBytes = bytes;
    };
    const up = new DelayedPipe(client, upstream, toServerDelay, () => this.stalledUntil.up, onQueued);
    const down = new DelayedPipe(upstream, client, toClientDelay, () => this.stalledUntil.down, onQueued);
    const pair = [client, upstream] as const;
    this.pairs.add(pair);
    const teardown = (): void => {
      this.pairs.delete(pair);
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
  }

  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 4096 }, () => resolve());
    });
    const address = this.server.address() as net.AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  /** Drops every open connection at once, both sides, as a failed link would. */
  cutAll(): number {
    const count = this.pairs.size;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.pairs.clear();
    return count;
  }

  /**
   * Holds every byte in one direction (`up`: client to server, `down`: server to client) for
   * `ms`, then lets it through in order: a one-way partition that heals, as TCP would see it.
   */
  stall(direction: 'up' | 'down', ms: number): void {
    this.stalledUntil[direction] = performance.now() + ms;
  }

  /**
   * For `ms`, once per loss period (a second by default), starting at once, cuts each open connection
   * with probability `probability`, drawn from the seeded generator so a run can be replayed: a 3 s
   * window makes 3 draws (at 0, 1 and 2 s).
   */
  randomLoss(probability: number, ms: number): void {
    this.stopLoss();
    const draws = lossDrawCount(ms, this.lossPeriodMs);
    let drawn = 0;
    const draw = (): void => {
      this.lossTimer = null;
      this.lossDraws++;
      for (const [client, upstream] of [...this.pairs]) {
        if (this.random() < probability) {
          this.lossCuts++;
          client.destroy();
          upstream.destroy();
        }
      }
      if (++drawn < draws) this.lossTimer = setTimeout(draw, this.lossPeriodMs);
    };
    if (draws > 0) draw();
  }

  private stopLoss(): void {
    if (this.lossTimer) clearTimeout(this.lossTimer);
    this.lossTimer = null;
  }

  /** While refusing, new connections are accepted and closed at once (the server looks down). */
  setRefusing(refusing: boolean): void {
    this.refusing = refusing;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.stopLoss();
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
