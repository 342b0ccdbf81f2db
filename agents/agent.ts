import { hostname, availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nowUs } from '../core/clock.js';
import { programPath } from '../core/entry-points.js';
import { type RedisClient, redisClient } from '../core/redis.js';
import { sleep } from '../core/sleep.js';
import { LIST_TTL_MS, LIVENESS_MS, REFRESH_MS, type AgentInfo, type FromAgent, type ToAgent, agentKey, bootId, claimKey, decodeWire, encodeWire, inboxKey, outboxKey } from './wire.js';
import { redactUrl } from '../core/redact.js';
import { Opener, Sealer, logOnce } from './seal.js';
import { localProfile } from './profiles-dir.js';

export interface AgentOptions {
  readonly coordinatorUrl: string;
  readonly name: string;
  /** Exit after serving one run (a Kubernetes Job's pod), instead of waiting for the next. */
  readonly once: boolean;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** The secret shared with coordinators: what is not signed with it is ignored. */
  readonly key: Buffer;
  /** The only folder profile files are loaded from (by name, checked against the coordinator's hash); null: built-in profiles only. */
  readonly profilesDir: string | null;
}

/** How often an idle agent looks for a claim, and how long one BLPOP waits before the claim is checked again. */
const IDLE_POLL_MS = 200;
const POP_WAIT_S = 0.5;

export class AgentNameTaken extends Error {}

/**
 * `rtbench agent`: waits in Redis for a coordinator to claim it, then holds subscriber threads for
 * it (the same worker the local pool runs), relaying the pool's requests and the threads' replies
 * through two lists. It stops serving a run when the coordinator says `end`, or by itself when the
 * coordinator's claim expires (a coordinator that died): its threads, and their connections, close.
 */
export async function runAgent(options: AgentOptions): Promise<void> {
  const { name, log, signal, key } = options;
  const registration = new Sealer(key, `agent:${name}`);
  const claims = new Opener(key, `claim:${name}`, 'repeatable');
  const logRefusal = logOnce(log);
  const refused = (what: string, why: string): void => logRefusal(`ignored ${what}: ${why}`);
  /** The run a claim in Redis names, if it is one a coordinator holding the key signed; null otherwise. */
  const claimedRun = async (): Promise<string | null> => {
    const text = await commands.get(claimKey(name)).catch(() => null);
    if (!text) return null;
    const opened = claims.open(text);
    if ('refused' in opened) {
      refused('a claim', opened.refused);
      return null;
    }
    return opened.run;
  };
  const commands = redisClient(options.coordinatorUrl, `rtbench:agent:${name}`);
  const reader = redisClient(options.coordinatorUrl, `rtbench:agent:${name}:reader`);
  await commands.connect();
  await reader.connect();
  const cpuAtStart = process.cpuUsage();
  let runId: string | null = null;
  /** A run is served once: its claim may outlive its `end` by a moment. */
  let lastRunId: string | null = null;
  const info = (): AgentInfo => {
    const cpu = process.cpuUsage(cpuAtStart);
    return { name, host: hostname(), pid: process.pid, bootId: bootId(), cores: availableParallelism(), runId, cpuUs: cpu.user + cpu.system };
  };
  // The name is ours only if nobody holds it: two agents of one name would read each other's work.
  const sealedInfo = (): string => registration.seal('', JSON.stringify(info()));
  if ((await commands.set(agentKey(name), sealedInfo(), { condition: 'NX', expiration: { type: 'PX', value: LIVENESS_MS } })) !== 'OK') {
    await Promise.all([commands.close(), reader.close()]);
    throw new AgentNameTaken(`an agent named ${name} is already registered in ${redactUrl(options.coordinatorUrl)}; give this one another --name`);
  }
  const heartbeat = setInterval(() => {
    commands.set(agentKey(name), sealedInfo(), { expiration: { type: 'PX', value: LIVENESS_MS } }).catch(() => {});
  }, REFRESH_MS);
  log(`agent ${name} waiting for work on ${redactUrl(options.coordinatorUrl)}`);
  try {
    while (!signal.aborted) {
      const claimed = await claimedRun();
      if (claimed !== null && claimed === lastRunId) refused(`a claim for run ${claimed}`, 'that run was served already');
      if (!claimed || claimed === lastRunId) {
        await sleep(IDLE_POLL_MS, signal).catch(() => {});
        continue;
      }
      runId = claimed;
      log(`serving run ${runId}`);
      const how = await serveRun({ commands, reader, name, runId, signal, log, key, profilesDir: options.profilesDir, claimedRun, refused });
      log(`run ${runId} ${how}`);
      lastRunId = runId;
      runId = null;
      if (options.once) break;
    }
  } finally {
    clearInterval(heartbeat);
    await commands.del(agentKey(name)).catch(() => {});
    await Promise.all([commands.close().catch(() => {}), reader.close().catch(() => {})]);
  }
}

interface Serving {
  readonly commands: RedisClient;
  readonly reader: RedisClient;
  readonly name: string;
  readonly runId: string;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly key: Buffer;
  readonly profilesDir: string | null;
  readonly claimedRun: () => Promise<string | null>;
  readonly refused: (what: string, why: string) => void;
}

/** One run: until `end`, a lost claim, or the signal. Always leaves no thread behind. */
async function serveRun(serving: Serving): Promise<string> {
  const { commands, reader, name, runId, signal, log, key, profilesDir, claimedRun, refused } = serving;
  const threads = new Map<string, Worker>();
  const out = outboxKey(runId, name);
  const outgoing = new Sealer(key, `from:${name}`);
  const incoming = new Opener(key, `to:${name}`, 'increasing');
  const send = (message: FromAgent): void => {
    commands
      .multi()
      .rPush(out, outgoing.seal(runId, encodeWire(message)))
      .pExpire(out, LIST_TTL_MS)
      .exec()
      .catch(() => {});
  };
  const stopAll = async (): Promise<void> => {
    const all = [...threads.values()];
    threads.clear();
    await Promise.all(all.map((worker) => worker.terminate()));
  };
  let claimCheckedMs = Date.now();
  try {
    while (!signal.aborted) {
      if (Date.now() - claimCheckedMs >= REFRESH_MS) {
        claimCheckedMs = Date.now();
        // The coordinator refreshes its claim every second; when it stops, it is gone.
        if ((await claimedRun()) !== runId) return 'abandoned: the coordinator stopped refreshing its claim (it died or lost Redis); threads closed';
      }
      const popped = await reader.blPop(inboxKey(runId, name), POP_WAIT_S).catch(() => null);
      if (!popped) continue;
      const opened = incoming.open(popped.element, runId);
      if ('refused' in opened) {
        refused('a message', opened.refused);
        continue;
      }
      const message = decodeWire<ToAgent>(opened.body);
      switch (message.t) {
        case 'open': {
          // A new session (the next transport): the previous one's threads are done with.
          await stopAll();
          const profile = await localProfile(message.profile, profilesDir);
          if ('refused' in profile) {
            log(`session ${message.session}: ${profile.refused}`);
            message.workerIndexes.forEach((_, thread) => send({ t: 'exit', session: message.session, thread, code: 1, error: profile.refused }));
            break;
          }
          const entry = programPath('subscriberWorker');
          message.workerIndexes.forEach((workerIndex, thread) => {
            const worker = new Worker(entry, { workerData: { ...message.init, profile: profile.ref, workerIndex, clockOffsetUs: message.clockOffsetUs } });
            const session = message.session;
            worker.on('message', (body) => send({ t: 'msg', session, thread, body }));
            worker.on('error', (error) => send({ t: 'exit', session, thread, code: 1, error: error.message }));
            worker.on('exit', (code) => {
              if (code !== 0) send({ t: 'exit', session, thread, code });
            });
            threads.set(`${session}:${thread}`, worker);
          });
          log(`session ${message.session}: ${message.workerIndexes.length} subscriber thread(s) for ${message.init.transport}`);
          break;
        }
        case 'msg':
          threads.get(`${message.session}:${message.thread}`)?.postMessage(message.body);
          break;
        case 'terminate': {
          const key = `${message.session}:${message.thread}`;
          const worker = threads.get(key);
          threads.delete(key);
          await worker?.terminate();
          break;
        }
        case 'ping':
          // The raw clock, without any offset: the coordinator estimates the offset from it.
          send({ t: 'pong', id: message.id, agentUs: nowUs() });
          break;
        case 'clock':
          for (const worker of threads.values()) worker.postMessage({ id: 0, type: 'clock', offsetUs: message.offsetUs });
          break;
        case 'end':
          return 'ended by the coordinator';
      }
    }
    return 'interrupted';
  } finally {
    await stopAll();
  }
}
