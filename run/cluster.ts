import type { TransportName } from '../core/transports.js';
import { programPath } from '../core/entry-points.js';
import { BUS_URL_ENV, dropKeys } from '../core/redis.js';
import { type ChildHandle, startChild } from './child.js';
import { waitForHealth } from './health.js';
import { sleep } from '../core/sleep.js';
import type { CommonConfig } from './options.js';
import { pinProcess } from './pinning.js';
import { TLS_CERT_ENV, TLS_KEY_ENV, type ThrowawayCert, throwawayCert } from '../core/throwaway-cert.js';
import { type TlsTrust, currentTlsTrust, setTlsTrust } from '../core/tls-trust.js';

const SERVER_START_TIMEOUT_MS = 10_000;

/** The delay proxy (no delay) in front of Redis, so a fault can cut the bus without touching Redis itself. */
async function startBusProxy(busUrl: string, seed: number): Promise<ChildHandle> {
  const url = new URL(busUrl);
  return startChild('bus proxy', programPath('proxy'), [
    JSON.stringify({ upstreamHost: url.hostname, upstreamPort: Number(url.port || 6379), delayMs: 0, jitterMs: 0, mode: 'link', seed }),
  ]);
}

/**
 * The built-in server of one transport run: one process, or `--instances N` processes sharing a
 * Redis bus under a prefix of their own (the run id and transport), whose keys are deleted when the
 * run ends. Each instance is a child process, so its CPU and memory are measured apart from rtbench.
 */
export class ServerCluster {
  private constructor(
    private readonly transport: TransportName,
    private readonly common: CommonConfig,
    private readonly busPrefix: string,
    private readonly onExit: (how: string) => void,
  ) {}

  private readonly instances: ChildHandle[] = [];

  /** Instances stopped on purpose (restarted, or the run ended): their exit is not a failure. */
  private readonly retiring = new Set<ChildHandle>();

  /** In front of Redis when the run injects bus faults: the instances reach Redis only through it. */
  private busProxy: ChildHandle | null = null;

  /** With --http2: the certificate every instance serves (restarts included), and the trust before it was added. */
  private tls: { readonly cert: ThrowawayCert; readonly before: TlsTrust } | null = null;

  static async start(transport: TransportName, common: CommonConfig, runId: string, onExit: (how: string) => void, busFaults = false): Promise<ServerCluster> {
    const cluster = new ServerCluster(transport, common, `rtbench:${runId}:${transport}`, onExit);
    try {
      if (busFaults && common.bus !== 'memory') cluster.busProxy = await startBusProxy(common.bus, common.seed);
      if (common.http2) cluster.trustOwnCertificate();
      for (let i = 0; i < common.instances; i++) cluster.instances.push(await cluster.startInstance('0'));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.instances.map((instance) => instance.url);
  }

  get pids(): number[] {
    return this.instances.map((instance) => instance.pid);
  }

  get size(): number {
    return this.instances.length;
  }

  /**
   * Makes the run's throwaway certificate and trusts it, beside what the user trusts, in this thread
   * and (through the pool's init) every subscriber thread started from now on, until the cluster stops.
   */
  private trustOwnCertificate(): void {
    const cert = throwawayCert();
    const before = currentTlsTrust();
    this.tls = { cert, before };
    setTlsTrust({ ...before, ca: before.ca === undefined ? cert.certPem : `${before.ca}\n${cert.certPem}` });
  }

  /** The bus the instances use: the user's, or the same URL (credentials, database) through the bus proxy. */
  private busUrl(): string {
    if (!this.busProxy) return this.common.bus;
    const url = new URL(this.common.bus);
    const proxy = new URL(this.busProxy.url);
    url.hostname = proxy.hostname;
    url.port = proxy.port;
    return url.toString();
  }

  private async startInstance(port: string): Promise<ChildHandle> {
    const { common } = this;
    const server = await startChild('reference server', programPath('referenceServer'), [
      '--port', port, '--exit-on-stdin-end', '--transports', this.transport,
      '--poll-timeout-ms', String(Math.round(common.pollTimeoutMs)),
      '--fan-out-delay-ms', String(Math.round(common.serverDelayMs)),
      // The bus URL may hold a password: it goes in the environment, never in a command line `ps` shows.
      '--bus', 'env', '--bus-prefix', this.busPrefix,
      ...(this.tls ? ['--http2'] : []),
    ], undefined, { [BUS_URL_ENV]: this.busUrl(), ...(this.tls ? { [TLS_KEY_ENV]: this.tls.cert.keyPem, [TLS_CERT_ENV]: this.tls.cert.certPem } : {}) });
    void server.exited.then((how) => {
      if (!this.retiring.has(server)) this.onExit(how);
    });
    try {
      if (common.serverCpus) pinProcess(server.pid, common.serverCpus);
      await waitForHealth(server.url, SERVER_START_TIMEOUT_MS);
    } catch (error) {
      this.retiring.add(server);
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Stops instance `index` and starts it again on the same port; the others keep serving. */
  async restart(index: number, graceMs = 1000): Promise<ChildHandle> {
    const old = this.instances[index] as ChildHandle;
    this.retiring.add(old);
    await old.stop(graceMs);
    const fresh = await this.startInstance(new URL(old.url).port);
    this.instances[index] = fresh;
    return fresh;
  }

  /** Whether the instances reach Redis through the bus proxy, so `busOutage` can cut it. */
  get canCutBus(): boolean {
    return this.busProxy !== null;
  }

  /** Redis unreachable for every instance: open connections cut, new ones refused, for `ms`. */
  async busOutage(ms: number, signal: AbortSignal): Promise<void> {
    const proxy = this.busProxy;
    if (!proxy) throw new Error('a bus outage needs the bus proxy (busFaults)');
    proxy.send('refuse on');
    proxy.send('cut');
    try {
      await sleep(ms, signal);
    } finally {
      proxy.send('refuse off');
    }
  }

  /** Stops every instance (and the bus proxy) and deletes the run's keys from Redis. */
  async stop(): Promise<void> {
    const instances = this.instances.splice(0);
    for (const instance of instances) this.retiring.add(instance);
    await Promise.all(instances.map((instance) => instance.stop()));
    await this.busProxy?.stop();
    if (this.common.bus !== 'memory') await dropKeys(this.common.bus, this.busPrefix).catch(() => 0);
    if (this.tls) setTlsTrust(this.tls.before);
    this.tls = null;
  }
}
