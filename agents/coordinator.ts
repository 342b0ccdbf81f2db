import { EventEmitter } from 'node:events';
import { nowUs } from '../core/clock.js';
import { RtbError } from '../core/errors.js';
import { type RedisClient, dropKeys, redisClient } from '../core/redis.js';
import { sleep } from '../core/sleep.js';
import { LIST_TTL_MS, LIVENESS_MS, REFRESH_MS, type AgentInfo, type FromAgent, type ToAgent, agentKey, bootId, claimKey, decodeWire, encodeWire, inboxKey, outboxKey, runPrefix } from './wire.js';
import { GENERATOR_CPU_LIMIT_PCT } from '../load/saturation.js';
import { lostReply, type MemberLedger } from './lost-agent.js';
import type { PlannedMessage } from '../load/recorder.js';
import type { ConnectReply, FromWorker, ToWorker, WorkerInit } from '../load/worker/protocol.js';
import type { AgentClock, AgentShare } from '../core/details.js';
import { redactUrl } from '../core/redact.js';
import { Opener, Sealer, agentKeyFromEnv, logOnce } from './seal.js';
import { wireProfile } from './profiles-dir.js';
import { type Ping, UNESTIMATED, bestPing, nextClock } from './clock-offset.js';
export type { AgentClock, AgentShare } from '../core/details.js';

/** How long a coordinator waits for the agents it was asked for. */
export const AGENT_WAIT_MS = 30_000;
/** Clock offsets are estimated at the start and again this often (monotonic clocks of two machines drift apart slowly). */
const CLOCK_EVERY_MS = 60_000;
const PINGS = 7;
const PONG_TIMEOUT_MS = 2000;
const POP_WAIT_S = 0.5;



/** A subscriber thread on an agent, as the pool sees it: a Worker-like object over Redis. */
export class RemoteMember extends EventEmitter implements MemberLedger {
  heldRooms: number[] = [];
  measured: MemberLedger['measured'] = null;
  utilizationMax = 0;
  gcPauseUsMax = 0;
  connected = 0;
  private readonly outstanding = new Map<number, ToWorker>();
  private lostReason: string | null = null;

  constructor(
    private readonly link: AgentLink,
    readonly session: number,
    readonly thread: number,
    readonly runId: string,
    private readonly defaultDeadlineUs: number,
  ) {
    super();
  }

  postMessage(message: ToWorker): void {
    if (message.type === 'measure') this.measured = { plan: message.plan as PlannedMessage[], startUs: message.startUs, deadlineUs: message.deadlineUs ?? this.defaultDeadlineUs };
    if (this.lostReason !== null) {
      queueMicrotask(() => this.emit('message', { id: message.id, type: 'reply', value: lostReply(message, this) } satisfies FromWorker));
      return;
    }
    this.outstanding.set(message.id, message);
    this.link.send({ t: 'msg', session: this.session, thread: this.thread, body: message });
  }

  /** A message from the thread, relayed by its agent. */
  deliver(body: FromWorker): void {
    if (this.lostReason !== null) return;
    if (body.type === 'tick') {
      this.connected = body.connected;
      this.utilizationMax = Math.max(this.utilizationMax, body.utilization);
      this.gcPauseUsMax = Math.max(this.gcPauseUsMax, body.gcPauseMaxUs);
    } else {
      const request = this.outstanding.get(body.id);
      this.outstanding.delete(body.id);
      if (request?.type === 'connect' && body.type === 'reply') {
        const reply = body.value as ConnectReply;
        this.connected = reply.connected;
        for (const [room, n] of Object.entries(reply.okByRoom)) {
          for (let i = 0; i < n; i++) this.heldRooms.push(Number(room));
        }
      }
    }
    this.emit('message', body);
  }

  /** The agent is gone: what was asked and not answered is answered for it, and so is whatever comes next. */
  lose(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.connected = 0;
    for (const request of this.outstanding.values()) this.emit('message', { id: request.id, type: 'reply', value: lostReply(request, this) } satisfies FromWorker);
    this.outstanding.clear();
  }

  get lost(): boolean {
    return this.lostReason !== null;
  }

  async terminate(): Promise<number> {
    if (this.lostReason === null) this.link.send({ t: 'terminate', session: this.session, thread: this.thread });
    return 0;
  }
}

/** The coordinator's side of one claimed agent: its two lists, its liveness and its clock. */
class AgentLink {
  members: RemoteMember[] = [];
  lost: string | null = null;
  clock: AgentClock;
  private readonly reader: RedisClient;
  private readonly pongs = new Map<number, (agentUs: number) => void>();
  private nextPing = 1;
  private cpuAtSession: { cpuUs: number; atUs: number } | null = null;
  private reading: Promise<void> | null = null;
  private closed = false;
  private readonly outgoing: Sealer;
  private readonly incoming: Opener;
  /** The agent's registration, read every second: signed by it, never older than the last one read. */
  readonly registration: Opener;
  /** The claim on it, refreshed every second: signed, so the agent knows it comes from a coordinator holding the key. */
  readonly claim: Sealer;

  constructor(
    /** As it registered, then as it last refreshed (its CPU counter). */
    public info: AgentInfo,
    private readonly commands: RedisClient,
    url: string,
    private readonly runId: string,
    key: Buffer,
    private readonly log: (line: string) => void,
  ) {
    this.reader = redisClient(url, `rtbench:coordinator:${runId}:${info.name}`);
    this.outgoing = new Sealer(key, `to:${info.name}`);
    this.incoming = new Opener(key, `from:${info.name}`, 'increasing');
    this.registration = new Opener(key, `agent:${info.name}`, 'repeatable');
    this.claim = new Sealer(key, `claim:${info.name}`);
    this.clock = UNESTIMATED;
  }

  get name(): string {
    return this.info.name;
  }

  async start(): Promise<void> {
    await this.reader.connect();
    this.reading = this.read();
  }

  send(message: ToAgent): void {
    if (this.lost !== null || this.closed) return;
    const key = inboxKey(this.runId, this.name);
    this.commands.multi().rPush(key, this.outgoing.seal(this.runId, encodeWire(message))).pExpire(key, LIST_TTL_MS).exec().catch(() => {});
  }

  private async read(): Promise<void> {
    const key = outboxKey(this.runId, this.name);
    while (!this.closed) {
      const popped = await this.reader.blPop(key, POP_WAIT_S).catch(() => null);
      if (!popped) continue;
      const opened = this.incoming.open(popped.element, this.runId);
      if ('refused' in opened) {
        this.log(`ignored a message in agent ${this.name}'s outbox: ${opened.refused}`);
        continue;
      }
      const message = decodeWire<FromAgent>(opened.body);
      if (message.t === 'pong') {
        this.pongs.get(message.id)?.(message.agentUs);
        this.pongs.delete(message.id);
        continue;
      }
      const member = this.members.find((m) => m.session === message.session && m.thread === message.thread);
      if (!member) continue;
      if (message.t === 'msg') member.deliver(message.body);
      else member.emit('error', new Error(`agent ${this.name}: subscriber thread ${message.thread} stopped (${message.error ?? `exit code ${message.code}`})`));
    }
  }

  /** One ping through Redis and back: the agent's raw clock, and ours before and after. */
  private async ping(): Promise<Ping | null> {
    const id = this.nextPing++;
    const sentUs = nowUs();
    const agentUs = await Promise.race([
      new Promise<number>((resolve) => {
        this.pongs.set(id, resolve);
        this.send({ t: 'ping', id });
      }),
      sleep(PONG_TIMEOUT_MS).then(() => null),
    ]);
    this.pongs.delete(id);
    if (agentUs === null) return null;
    return { sentUs, agentUs, receivedUs: nowUs() };
  }

  /** Whether the agent answers a ping at all: claimed, it must be alive. */
  async answers(): Promise<boolean> {
    return (await this.ping()) !== null;
  }

  /** The best of several pings (the shortest round trip bounds the error best); tells the agent when the offset applies. */
  async estimateClock(): Promise<void> {
    const pings: Array<Ping | null> = [];
    for (let i = 0; i < PINGS && this.lost === null; i++) pings.push(await this.ping());
    const best = bestPing(pings);
    if (!best) return;
    this.clock = nextClock(this.clock, best, this.info.bootId !== '' && this.info.bootId === bootId());
    if (this.clock.kind === 'estimated') this.send({ t: 'clock', offsetUs: this.clock.offsetUs });
  }

  /** Opens a session of `threads` subscriber threads on the agent. */
  open(session: number, workerIndexes: readonly number[], init: WorkerInit): RemoteMember[] {
    this.members = workerIndexes.map((_, thread) => new RemoteMember(this, session, thread, init.runId, init.deadlineUs));
    this.cpuAtSession = { cpuUs: this.info.cpuUs, atUs: nowUs() };
    if (this.lost !== null) for (const member of this.members) member.lose(this.lost);
    // The agent is on another machine: its source addresses are its own business.
    else {
      const { profile, ...rest } = init;
      this.send({ t: 'open', session, workerIndexes, init: { ...rest, localAddresses: [] }, profile: wireProfile(profile), clockOffsetUs: this.clock.offsetUs });
    }
    return this.members;
  }

  /** Called every second: the agent's registration says it is alive, and how much CPU it has used. */
  refreshed(info: AgentInfo | null): void {
    if (this.lost !== null) return;
    if (info === null || info.pid !== this.info.pid) {
      this.lose(`agent ${this.name} stopped refreshing its registration for ${LIVENESS_MS / 1000} s (the process died, or lost Redis)`);
      return;
    }
    this.info = info;
  }

  lose(reason: string): void {
    this.lost = reason;
    for (const member of this.members) member.lose(reason);
  }

  share(): AgentShare {
    const elapsedUs = this.cpuAtSession ? nowUs() - this.cpuAtSession.atUs : 0;
    const cpuPctAvg = this.cpuAtSession && elapsedUs > 0 && this.lost === null ? Math.round(((this.info.cpuUs - this.cpuAtSession.cpuUs) / elapsedUs) * 1000) / 10 : null;
    const threads = this.members.length;
    const limitPct = GENERATOR_CPU_LIMIT_PCT * Math.max(1, Math.min(threads + 1, this.info.cores));
    const reasons: string[] = [];
    if (cpuPctAvg !== null && cpuPctAvg > limitPct) reasons.push(`agent ${this.name}: CPU averaged ${cpuPctAvg}% of one core (limit ${limitPct}%)`);
    if (this.lost !== null) reasons.push(`${this.lost}: its subscribers are counted as failed or disconnected, its deliveries as lost`);
    return {
      name: this.name,
      host: this.info.host,
      pid: this.info.pid,
      threads,
      subscribers: this.members.reduce((n, m) => n + m.heldRooms.length, 0),
      connected: this.members.reduce((n, m) => n + m.connected, 0),
      cpuPctAvg,
      utilizationMax: Math.max(0, ...this.members.map((m) => m.utilizationMax)),
      gcPauseUsMax: Math.max(0, ...this.members.map((m) => m.gcPauseUsMax)),
      saturated: reasons.length > 0,
      saturationReasons: reasons,
      lost: this.lost,
      clock: this.clock,
    };
  }

  async close(): Promise<void> {
    this.send({ t: 'end' });
    this.closed = true;
    await this.reading;
    await this.reader.close().catch(() => {});
  }
}

/**
 * The agents one run claimed (`--agents N --coordinator redis://...`). Each holds a share of every
 * pool's subscribers in threads of its own; the pool sees them as members like its local threads.
 * The claim, refreshed every second, is the coordinator's heartbeat: an agent whose claim expires
 * stops by itself. An agent that stops refreshing its registration is given up for, and accounted.
 */
export class AgentSet {
  private session = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly clockTimer: NodeJS.Timeout;

  private constructor(
    private readonly url: string,
    private readonly runId: string,
    private readonly commands: RedisClient,
    private readonly links: readonly AgentLink[],
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.clockTimer = setInterval(() => void Promise.all(this.links.map((link) => link.estimateClock())), CLOCK_EVERY_MS);
  }

  /** Claims `count` idle agents registered in `url`, waiting up to `waitMs` for enough of them to appear. */
  static async claim(url: string, count: number, runId: string, log: (line: string) => void, signal: AbortSignal, waitMs = AGENT_WAIT_MS): Promise<AgentSet> {
    const key = agentKeyFromEnv();
    const passedOver = logOnce(log);
    const commands = redisClient(url, `rtbench:coordinator:${runId}`);
    try {
      await commands.connect();
    } catch (error) {
      throw new RtbError('RTB_ERR_NOT_READY', `--coordinator ${redactUrl(url)}: Redis cannot be reached (${(error as Error).message})`);
    }
    const links: AgentLink[] = [];
    /** Registrations that did not answer: a process killed less than LIVENESS_MS ago still looks idle. */
    const silent = new Set<string>();
    const deadline = Date.now() + waitMs;
    let announced = false;
    while (links.length < count) {
      for (const info of await registeredAgents(commands, key, passedOver)) {
        if (links.length >= count) break;
        if (info.runId !== null || silent.has(info.name) || links.some((l) => l.name === info.name)) continue;
        const link = new AgentLink(info, commands, url, runId, key, log);
        const ok = await commands.set(claimKey(info.name), link.claim.seal(runId, 'claim'), { condition: 'NX', expiration: { type: 'PX', value: LIVENESS_MS } });
        if (ok !== 'OK') continue;
        await link.start();
        if (await link.answers()) {
          links.push(link);
          continue;
        }
        silent.add(info.name);
        await link.close();
        await commands.del(claimKey(info.name));
      }
      if (links.length >= count) break;
      if (Date.now() > deadline || signal.aborted) {
        await Promise.all(links.map((link) => link.close()));
        await Promise.all(links.map((link) => commands.del(claimKey(link.name))));
        await commands.close();
        throw new RtbError('RTB_ERR_NOT_READY', `--agents ${count}: ${links.length} idle agent(s) answered on ${redactUrl(url)} within ${waitMs / 1000} s; start more with \`rtbench agent --coordinator ${redactUrl(url)}\``);
      }
      if (!announced) log(`waiting for ${count - links.length} more idle agent(s) on ${redactUrl(url)}`);
      announced = true;
      await sleep(250, signal).catch(() => {});
    }
    const set = new AgentSet(url, runId, commands, links, log);
    await Promise.all(links.map((link) => link.estimateClock()));
    for (const link of links) {
      const { clock } = link;
      log(
        `agent ${link.name} on ${link.info.host} (pid ${link.info.pid}): ${clock.kind === 'shared' ? `same machine, one clock (estimate ${clock.estimatedOffsetUs} ± ${clock.uncertaintyUs} µs)` : `clock offset ${clock.offsetUs} ± ${clock.uncertaintyUs} µs`}`,
      );
    }
    return set;
  }

  get size(): number {
    return this.links.length;
  }

  /** A new session on every agent: `threads` subscriber threads each, numbered after the coordinator's own. */
  members(threads: number, init: WorkerInit): RemoteMember[] {
    this.session++;
    return this.links.flatMap((link, a) =>
      link.open(
        this.session,
        Array.from({ length: threads }, (_, t) => threads * (a + 1) + t),
        init,
      ),
    );
  }

  /** Per agent, for the current session. */
  share(): AgentShare[] {
    return this.links.map((link) => link.share());
  }

  /** What the summary says about clocks: which applies, and the uncertainty latencies carry. */
  clockStatement(): string {
    const estimated = this.links.filter((link) => link.clock.kind === 'estimated');
    if (estimated.length === 0) return `every agent runs on this machine: one monotonic clock, latencies need no correction`;
    const worst = Math.max(...estimated.map((link) => link.clock.uncertaintyUsMax));
    return `${estimated.length} agent(s) with a clock of their own (another machine, or a time namespace): their offsets were estimated through Redis at the start and every ${CLOCK_EVERY_MS / 1000} s; latencies measured there carry up to ±${worst} µs`;
  }

  private async refresh(): Promise<void> {
    await Promise.all(
      this.links.map(async (link) => {
        if (link.lost !== null) return;
        await this.commands.set(claimKey(link.name), link.claim.seal(this.runId, 'claim'), { expiration: { type: 'PX', value: LIVENESS_MS } }).catch(() => {});
        const text = await this.commands.get(agentKey(link.name)).catch(() => undefined);
        if (text === undefined) return; // Redis unreachable for a moment: judged on the next refresh
        if (text === null) return link.refreshed(null);
        const opened = link.registration.open(text);
        // A registration not signed by the agent is not its word: judged as a missed refresh.
        if ('refused' in opened) this.log(`ignored agent ${link.name}'s registration: ${opened.refused}`);
        else link.refreshed(JSON.parse(opened.body) as AgentInfo);
      }),
    );
  }

  /** Ends the run on every agent (they go back to waiting) and deletes what the run put in Redis. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.clockTimer);
    await Promise.all(this.links.map((link) => link.close()));
    await Promise.all(this.links.map((link) => this.commands.del(claimKey(link.name)).catch(() => 0)));
    await this.commands.close().catch(() => {});
    await dropKeys(this.url, runPrefix(this.runId)).catch(() => 0);
  }
}

/** Registrations signed with the key; any other is passed over (and said through `log`, which says each once). */
async function registeredAgents(commands: RedisClient, secret: Buffer, log: (line: string) => void): Promise<AgentInfo[]> {
  const found: AgentInfo[] = [];
  for await (const keys of commands.scanIterator({ MATCH: agentKey('*'), COUNT: 500 })) {
    for (const key of keys) {
      if (key.endsWith(':claim')) continue;
      const text = await commands.get(key);
      if (!text) continue;
      const name = key.slice(agentKey('').length);
      const opened = new Opener(secret, `agent:${name}`, 'repeatable').open(text);
      if ('refused' in opened) {
        log(`passed over the registration ${key}: ${opened.refused}`);
        continue;
      }
      const info = JSON.parse(opened.body) as AgentInfo;
      if (info.name === name) found.push(info);
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
