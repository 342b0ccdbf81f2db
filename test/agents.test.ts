import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { redisClient } from '../core/redis.js';
import { buildServer } from '../servers/app.js';
import type { RunSummary, TransportResult } from '../core/result.js';
import type { AgentShare } from '../agents/coordinator.js';
import { testCleanup } from './helpers.js';
import { type StartedCli, isAlive, onlyRunFolder, outRoot, runCli, startCli, waitForStderr } from './support/cli.js';
import { detailsOf } from '../core/details.js';
import { Sealer } from '../agents/seal.js';
import { packageRoot } from '../core/paths.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Agents and coordinators sign what they say with a shared key; every process started here inherits it. */
const AGENT_KEY = Buffer.from('rtbench-test-agent-key-0123456789');
process.env.RTBENCH_AGENT_KEY = AGENT_KEY.toString();
const outDir = outRoot();
const cleanup = testCleanup();
/** Agent names are unique to this file's process, so a leftover of another run is never claimed by mistake. */
const tag = `t${process.pid}`;

async function redisKeys(pattern: string): Promise<string[]> {
  const client = redisClient(REDIS_URL);
  await client.connect();
  try {
    return await client.keys(pattern);
  } finally {
    await client.close();
  }
}

/** An `rtbench agent` process, stopped (and its registration gone) after the test. */
async function startAgent(name: string, extra: readonly string[] = [], shellPrefix?: string): Promise<StartedCli> {
  const agent = startCli(['agent', '--name', name, ...extra], shellPrefix ? { shellPrefix } : {});
  cleanup.add(async () => {
    // The whole group: an agent started through unshare or ip netns is a child of the process started.
    try {
      process.kill(-agent.child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await agent.done;
    // A killed agent's registration expires by itself within 3 s; the next test must not find it.
    const deadline = Date.now() + 10_000;
    while ((await redisKeys(`rtbench:agent:${name}`)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  });
  await waitForStderr(agent, /waiting for work/);
  return agent;
}

const agentsOf = (result: TransportResult): AgentShare[] => [...(result.details?.agents ?? [])];

function parse(stdout: string, stderr: string): RunSummary {
  try {
    return JSON.parse(stdout) as RunSummary;
  } catch {
    throw new Error(`no summary on stdout; stderr: ${stderr}`);
  }
}

describe('load generation over agents (rtbench agent, --agents N)', () => {
  it.each([
    [['faults', '--agents', '2'], '--agents'],
    [['ramp', '--agents', '1', '--coordinator', 'http://127.0.0.1:6379'], '--coordinator'],
    [['agent', '--name', 'a b'], '--name'],
    [['agent', '--coordinator', 'mysql://x'], '--coordinator'],
  ])('rejects %j with exit 2, naming the option', async (args, option) => {
    const { code, stderr } = await runCli([...args, '--dry-run'].filter((a) => !(args[0] === 'agent' && a === '--dry-run')));
    expect(code).toBe(2);
    expect(stderr).toContain(option);
  });

  it('will not start an agent or a coordinator without the shared key', async () => {
    const env = { ...process.env, RTBENCH_AGENT_KEY: '' };
    for (const args of [['agent', '--name', `${tag}-nokey`], ['burst', '--agents', '1', '--out', outDir('nokey')]]) {
      const { code, stderr } = await runCli(args, { env });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain('RTBENCH_AGENT_KEY is not set');
    }
  });

  it('ignores a forged claim and a replayed one: it serves only runs a coordinator holding the key signed', async () => {
    const name = `${tag}-forged`;
    const agent = await startAgent(name);
    const client = redisClient(REDIS_URL);
    await client.connect();
    cleanup.add(() => client.close());
    const claim = `rtbench:agent:${name}:claim`;
    // Written straight into Redis: a bare run id, then an envelope signed with another key.
    await client.set(claim, 'forged-run', { expiration: { type: 'PX', value: 10_000 } });
    await waitForStderr(agent, /ignored a claim: not a sealed message/);
    await client.set(claim, new Sealer(Buffer.from('not the shared key at all'), `claim:${name}`).seal('forged-run', 'claim'), { expiration: { type: 'PX', value: 10_000 } });
    await waitForStderr(agent, /ignored a claim: bad signature/);
    await client.del(claim);
    expect(agent.stderrSoFar()).not.toMatch(/serving run forged-run/);

    // A real run, its claim copied while it lasts, then written back once the run is over.
    const run = startCli(['burst', '--transport', 'ws', '--subscribers', '4', '--bursts', '5', '--agents', '1', '--out', outDir('replayed')]);
    let ended = false;
    const done = run.done.finally(() => (ended = true));
    let copied: string | null = null;
    while (copied === null && !ended) {
      copied = await client.get(claim);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await done).code).toBe(0);
    expect(copied).not.toBeNull();
    await client.set(claim, copied!, { expiration: { type: 'PX', value: 10_000 } });
    await waitForStderr(agent, /ignored a claim for run \w+: that run was served already/);
    await client.del(claim);
    expect(agent.stderrSoFar().match(/serving run/g)).toHaveLength(1);
  }, 120_000);

  it('loads a profile file only from its --profiles folder, and only the very file the coordinator has', async () => {
    const profiles = join(packageRoot, 'test', 'fixtures', 'profiles');
    const profile = join(profiles, 'reference-copy.mjs');
    const target = await cleanup.server();
    const burst = (out: string) => runCli(['burst', '--transport', 'ws', '--subscribers', '4', '--bursts', '5', '--profile', profile, '--target', target, '--agents', '1', '--out', outDir(out), '--json']);
    const stop = async (agent: StartedCli): Promise<void> => {
      agent.child.kill('SIGTERM');
      await agent.done;
    };
    const without = await startAgent(`${tag}-pa`);
    const refused = await burst('no-profiles');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/profile file reference-copy.mjs, and this agent loads profile files only from a folder it is given \(rtbench agent --profiles DIR\)/);
    await stop(without);

    const other = mkdtempSync(join(tmpdir(), 'rtbench-profiles-'));
    writeFileSync(join(other, 'reference-copy.mjs'), `${readFileSync(profile, 'utf8')}\n// changed\n`);
    const changed = await startAgent(`${tag}-pb`, ['--profiles', other]);
    const differs = await burst('changed-profile');
    expect(differs.code).toBe(1);
    expect(differs.stderr).toMatch(/reference-copy.mjs differs from the coordinator's reference-copy.mjs \(SHA-256/);
    await stop(changed);

    await startAgent(`${tag}-pc`, ['--profiles', profiles]);
    const ok = await burst('same-profile');
    expect(ok.code, ok.stderr).toBe(0);
    const result = parse(ok.stdout, ok.stderr).transports[0]!;
    expect(result.config.profile).toBe('reference-copy');
    expect(agentsOf(result).map((a) => a.subscribers)).toEqual([2]);
    expect(result.messages).toMatchObject({ expected: 60, received: 60, lost: 0 });
  }, 180_000);

  it('refuses a second agent of the same name', async () => {
    await startAgent(`${tag}-twice`);
    const second = await runCli(['agent', '--name', `${tag}-twice`]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already registered/);
  });

  it('deals every transport over two agents and itself, and merges their counts exactly', async () => {
    const agents = [await startAgent(`${tag}-a`), await startAgent(`${tag}-b`)];
    const { code, stdout, stderr } = await runCli(['ramp', '--steps', '30,60', '--messages', '5', '--rate', '20', '--hold', '0', '--agents', '2', '--out', outDir('merge'), '--json']);
    expect(code, stderr).toBe(0);
    const summary = parse(stdout, stderr);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling', 'stomp']);
    for (const result of summary.transports) {
      // 30 subscribers x 5 messages, then 60 x 5: exactly what one process would count.
      expect(result.messages, result.transport).toMatchObject({ expected: 450, received: 450, lost: 0, duplicated: 0, foreign: 0 });
      // Messages 50 ms apart go out on several publish connections: a server stalled longer than
      // that (a loaded CI machine) can store two in the other order, and then every subscriber of
      // the step sees them so (seen once: long polling 60). Merged right, that is whole steps'
      // audiences (30 or 60), never a thread's share of one.
      expect(result.messages.outOfOrder % 30, `${result.transport}: out of order ${result.messages.outOfOrder}`).toBe(0);
      const steps = detailsOf(result, 'ramp')!.steps;
      expect(steps.map((s) => s.connect.ok)).toEqual([30, 30]);
      const byAgent = agentsOf(result);
      expect(byAgent.map((a) => a.name).sort()).toEqual([`${tag}-a`, `${tag}-b`]);
      // Two threads here and two on each agent: each agent holds a third of the 60, give or take rounding.
      for (const agent of byAgent) {
        expect(agent.subscribers).toBeGreaterThanOrEqual(18);
        expect(agent.subscribers).toBeLessThanOrEqual(22);
        expect(agent.lost).toBeNull();
        expect(agent.clock.kind).toBe('shared');
        // One machine, one clock: the estimate through Redis must find about no offset.
        expect(Math.abs(agent.clock.estimatedOffsetUs)).toBeLessThanOrEqual(agent.clock.uncertaintyUs + 2000);
      }
      expect(result.details?.clock).toMatch(/one monotonic clock/);
    }
    // The agents wait for the next run, and the run left nothing in Redis.
    for (const agent of agents) expect(agent.stderrSoFar()).toMatch(/ended by the coordinator/);
    expect(await redisKeys(`rtbench:run:${summary.runId}:*`)).toEqual([]);
    expect((await redisKeys(`rtbench:agent:${tag}-*:claim`))).toEqual([]);
  }, 180_000);

  it('runs a burst over agents: every burst judged per subscriber, completion and fan-out over all of them', async () => {
    await startAgent(`${tag}-h`);
    await startAgent(`${tag}-i`);
    const { code, stdout, stderr } = await runCli(['burst', '--transport', 'sse', '--subscribers', '30', '--bursts', '10', '--agents', '2', '--out', outDir('burst'), '--json']);
    expect(code, stderr).toBe(0);
    const result = parse(stdout, stderr).transports[0]!;
    // 10 bursts of 3 to 30 subscribers, 10 on each of three threads (one here, one per agent).
    expect(result.messages).toMatchObject({ expected: 900, received: 900, lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(result.subscriberBursts).toEqual({ ok: 300, failed: 0, pending: 0 });
    expect(agentsOf(result).map((a) => a.subscribers)).toEqual([10, 10]);
    // Completion and spread need every thread's arrivals: one value per burst, one per message.
    expect(result.latencyUs.burstCompletion.count).toBe(10);
    expect(result.latencyUs.fanOutSpread.count).toBe(30);
    // A burst's last message is sent 100 ms after its first (gap 50 ms): completion cannot be shorter.
    expect(result.latencyUs.burstCompletion.min).toBeGreaterThanOrEqual(100_000);
    expect(result.latencyUs.publishRtt.count).toBe(30);
    // samples.csv counts the 30 messages sent (it read 0 before), the last ones included.
    expect([...result.samples].reduce((n, s) => n + s.messagesSent, 0)).toBe(30);
  }, 120_000);

  it('keeps two runs that share one Redis apart: each has its own agent and counts only its own messages', async () => {
    await startAgent(`${tag}-c`);
    await startAgent(`${tag}-d`);
    const [soak, throughput] = await Promise.all([
      runCli(['soak', '--transport', 'ws', '--connections', '40', '--duration', '3s', '--interval', '500ms', '--agents', '1', '--out', outDir('soak'), '--json']),
      runCli(['throughput', '--transport', 'sse', '--subscribers', '40', '--rooms', '2', '--rates', '20', '--step', '2s', '--agents', '1', '--out', outDir('throughput'), '--json']),
    ]);
    expect(soak.code, soak.stderr).toBe(0);
    expect(throughput.code, throughput.stderr).toBe(0);
    const [a, b] = [parse(soak.stdout, soak.stderr).transports[0]!, parse(throughput.stdout, throughput.stderr).transports[0]!];
    for (const result of [a, b]) {
      expect(result.messages.expected).toBeGreaterThan(0);
      expect(result.messages).toMatchObject({ lost: 0, foreign: 0, duplicated: 0 });
      expect(result.messages.received).toBe(result.messages.expected);
      expect(agentsOf(result)).toHaveLength(1);
    }
    expect(agentsOf(a)[0]!.name).not.toBe(agentsOf(b)[0]!.name);
  }, 120_000);

  it("puts an agent with a clock of its own on the coordinator's clock (a time namespace 5000 s ahead)", async (ctx) => {
    if (!canShiftMonotonic()) ctx.skip();
    // Same kernel and boot id, but CLOCK_MONOTONIC 5000 s ahead: what another machine's clock looks like.
    await startAgent(`${tag}-tns`, [], 'exec unshare --fork --kill-child=SIGTERM --time --monotonic 5000 "$0" "$@" #');
    const { code, stdout, stderr } = await runCli(['ramp', '--transport', 'ws', '--steps', '40', '--messages', '10', '--rate', '10', '--hold', '0', '--agents', '1', '--out', outDir('time-namespace'), '--json']);
    expect(code, stderr).toBe(0);
    const result = parse(stdout, stderr).transports[0]!;
    const [agent] = agentsOf(result);
    expect(agent!.clock.kind).toBe('estimated');
    expect(Math.abs(agent!.clock.offsetUs - 5_000_000_000)).toBeLessThanOrEqual(agent!.clock.uncertaintyUs + 2000);
    // Uncorrected, its 20 subscribers' latencies would be 5000 s: every one past the deadline, lost.
    expect(agent!.subscribers).toBe(20);
    expect(result.messages).toMatchObject({ expected: 400, received: 400, lost: 0, late: 0 });
    expect(result.latencyUs.perMessage.max).toBeLessThan(1_000_000);
    expect(result.details?.clock).toMatch(/clock of their own.*±\d+ µs/);
    // The uncertainty stands beside the percentiles in the table too.
    const table = readFileSync(join(onlyRunFolder(outDir('time-namespace')), 'summary.md'), 'utf8');
    expect(table).toMatch(/Clock ± \(ms\)/);
  }, 120_000);

  it('passes over a registration that does not answer (an agent killed a moment ago) and claims one that does', async () => {
    const client = redisClient(REDIS_URL);
    await client.connect();
    cleanup.add(() => client.close());
    const ghost = { name: `${tag}-ghost`, host: 'nowhere', pid: 1, bootId: '', cores: 1, runId: null, cpuUs: 0 };
    await client.set(`rtbench:agent:${ghost.name}`, new Sealer(AGENT_KEY, `agent:${ghost.name}`).seal('', JSON.stringify(ghost)), { expiration: { type: 'PX', value: 20_000 } });
    cleanup.add(() => client.del(`rtbench:agent:${ghost.name}`));
    await startAgent(`${tag}-zz`);
    const summary = parse(...(await runCli(['ramp', '--transport', 'ws', '--steps', '20', '--messages', '5', '--rate', '20', '--hold', '0', '--agents', '1', '--out', outDir('ghost'), '--json']).then((r) => [r.stdout, r.stderr] as const)));
    const result = summary.transports[0]!;
    expect(agentsOf(result).map((a) => a.name)).toEqual([`${tag}-zz`]);
    expect(result.messages).toMatchObject({ expected: 100, received: 100, lost: 0 });
    expect(await client.exists(`rtbench:agent:${ghost.name}:claim`)).toBe(0);
  }, 120_000);

  it('counts a dead agent: its deliveries lost, never dropped from the totals', async () => {
    await startAgent(`${tag}-e`);
    const doomed = await startAgent(`${tag}-f`);
    // Not --json: the phase lines on stderr say when publishing starts; the summary is read from the run folder.
    const run = startCli(['ramp', '--transport', 'ws', '--steps', '60', '--messages', '60', '--rate', '10', '--hold', '0', '--agents', '2', '--out', outDir('dead')]);
    await waitForStderr(run, /step 1: publishing/, 60_000);
    doomed.child.kill('SIGKILL');
    const { stderr } = await run.done;
    const result = parse(readFileSync(join(onlyRunFolder(outDir('dead')), 'summary.json'), 'utf8'), stderr).transports[0]!;
    const dead = agentsOf(result).find((a) => a.name === `${tag}-f`)!;
    const alive = agentsOf(result).find((a) => a.name === `${tag}-e`)!;
    expect(dead.lost).toMatch(/stopped refreshing/);
    expect(alive.lost).toBeNull();
    expect(dead.subscribers).toBeGreaterThan(0);
    // Every subscriber's 60 messages are expected; exactly the dead agent's are lost (what it got before dying never reached us).
    expect(result.messages.expected).toBe(60 * 60);
    expect(result.messages.lost).toBe(dead.subscribers * 60);
    expect(result.messages.received).toBe((60 - dead.subscribers) * 60);
    expect(result.generator.saturationReasons.join(' ')).toMatch(/its deliveries as lost/);
  }, 120_000);

  it('an agent whose coordinator dies stops by itself, closing its connections, within a bounded time', async () => {
    const url = await cleanup.server();
    const agent = await startAgent(`${tag}-g`, ['--once']);
    const run = startCli(['ramp', '--target', url, '--transport', 'ws', '--steps', '40', '--messages', '600', '--rate', '10', '--agents', '1', '--out', outDir('orphan')]);
    await waitForStderr(run, /step 1: publishing/, 60_000);
    const killedAt = Date.now();
    run.child.kill('SIGKILL');
    const { code } = await agent.done;
    // Its claim expires 3 s after the last refresh, and the agent looks every second.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(code).toBe(0);
    expect(agent.stderrSoFar()).toMatch(/abandoned/);
    expect(isAlive(agent.child.pid!)).toBe(false);
  }, 120_000);
});

/** Whether this machine can start a process in a time namespace with its monotonic clock moved (Linux 5.6+, util-linux). */
function canShiftMonotonic(): boolean {
  try {
    execFileSync('unshare', ['--fork', '--time', '--monotonic', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether this machine lets the test make network namespaces (root, iproute2). */
function canMakeNamespaces(): boolean {
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

/** A TCP relay from `host:0` to 127.0.0.1:`port`: the agent in the namespace reaches this machine's Redis through the veth. */
async function relay(host: string, port: number): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanup.add(() => {
    sockets.forEach((s) => s.destroy());
    return new Promise((resolve) => server.close(resolve));
  });
  return { server, port: (server.address() as { port: number }).port };
}

describe.runIf(canMakeNamespaces())('an agent in its own network namespace', () => {
  it('measures across a veth pair: the traffic crosses an interface, and the namespace is gone afterwards', async () => {
    const ns = `rtb${process.pid}`;
    const hostIf = `rtbh${process.pid}`.slice(0, 15);
    const nsIf = `rtbn${process.pid}`.slice(0, 15);
    // A /30 of its own from 10.213.0.0/16, picked by pid, so two test runs do not collide.
    const block = (process.pid % 16_000) * 4;
    const net = `10.213.${Math.floor(block / 256)}`;
    const hostIp = `${net}.${(block % 256) + 1}`;
    const nsIp = `${net}.${(block % 256) + 2}`;
    const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
    cleanup.add(() => {
      try {
        ip('netns', 'del', ns); // takes the veth pair with it
      } catch {
        // never made, or already gone
      }
    });
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');

    // The server under test listens on the host end of the veth; the coordinator and its own threads reach it there too.
    const server = await buildServer({});
    cleanup.add(() => server.close());
    const target = await server.listen({ host: hostIp, port: 0 });
    const redis = await relay(hostIp, 6379);
    const bytesBefore = Number(execFileSync('cat', [`/sys/class/net/${hostIf}/statistics/rx_bytes`]).toString());
    // `exec ip netns exec NS node cli.js agent ...`: the agent process itself runs in the namespace.
    await startAgent(`${tag}-ns`, ['--coordinator', `redis://${hostIp}:${redis.port}`], `exec ip netns exec ${ns} "$0" "$@" #`);

    const { code, stdout, stderr } = await runCli(['ramp', '--target', target, '--transport', 'sse', '--steps', '40', '--messages', '10', '--rate', '10', '--hold', '0', '--agents', '1', '--workers', '1', '--out', outDir('netns'), '--json']);
    expect(code, stderr).toBe(0);
    const result = parse(stdout, stderr).transports[0]!;
    expect(result.messages).toMatchObject({ expected: 400, received: 400, lost: 0 });
    const [agent] = agentsOf(result);
    expect(agent!.subscribers).toBe(20);
    // Same kernel, so one clock; the estimate took the veth and Redis both ways.
    expect(agent!.clock.kind).toBe('shared');
    const bytesAfter = Number(execFileSync('cat', [`/sys/class/net/${hostIf}/statistics/rx_bytes`]).toString());
    expect(bytesAfter - bytesBefore).toBeGreaterThan(10_000);
  }, 120_000);

  it('left no namespace behind', () => {
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(`rtb${process.pid}`);
  });
});
