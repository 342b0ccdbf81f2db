import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisClient } from '../core/redis.js';
import type { RunSummary } from '../core/result.js';
import { testCleanup } from './helpers.js';
import { outRoot, runCli, startCli, waitForStderr } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();
process.env.RTBENCH_AGENT_KEY ??= 'rtbench-test-agent-key-0123456789';
/** Appears in no file or stream rtbench writes: it is only ever used on the wire. */
const PASSWORD = 'redis-pw-7f3a9c2e51';

const folder = mkdtempSync(join(tmpdir(), 'rtbench-rediss-'));
const cert = join(folder, 'cert.pem');
let redis: ChildProcess | null = null;
let url = '';

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'latin1') }];
  });
}

/** A Redis of its own that speaks only TLS and wants a password, on a free port of 127.0.0.1. */
beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(folder, 'key.pem'), '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const port = await freePort();
  redis = spawn('redis-server', [
    '--port', '0', '--bind', '127.0.0.1', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', join(folder, 'key.pem'),
    '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no',
  ], { stdio: 'ignore' });
  url = `rediss://default:${PASSWORD}@127.0.0.1:${port}`;
  process.env.RTBENCH_REDIS_CA = cert;
  const client = redisClient(url);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await client.close();
  delete process.env.RTBENCH_REDIS_CA;
}, 30_000);

afterAll(() => {
  redis?.kill('SIGTERM');
});

describe('Redis over TLS with a password (rediss://user:password@, --redis-ca)', () => {
  it('runs agents and a cluster of instances through it; the password is written nowhere', async () => {
    const agent = startCli(['agent', '--name', `rediss-${process.pid}`, '--coordinator', url, '--redis-ca', cert]);
    cleanup.add(async () => {
      agent.child.kill('SIGTERM');
      await agent.done;
    });
    await waitForStderr(agent, /waiting for work/);
    const dir = outDir('rediss');
    const run = await runCli(['burst', '--transport', 'ws', '--subscribers', '4', '--bursts', '5', '--instances', '2', '--bus', url, '--agents', '1', '--coordinator', url, '--redis-ca', cert, '--out', dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const [result] = (JSON.parse(run.stdout) as RunSummary).transports;
    expect(result!.messages).toMatchObject({ expected: 60, received: 60, lost: 0, duplicated: 0 });
    expect(result!.details?.agents?.map((a) => a.subscribers)).toEqual([2]);
    for (const text of [run.stdout, run.stderr, agent.stderrSoFar(), ...filesUnder(dir).map((f) => f.text)]) expect(text).not.toContain(PASSWORD);
    expect(run.stdout).toContain('rediss://default:***@127.0.0.1');
  }, 120_000);

  it('says why it cannot connect: a wrong password, a certificate it does not trust', async () => {
    const wrong = await runCli(['burst', '--transport', 'ws', '--instances', '2', '--bus', url.replace(PASSWORD, 'not-the-password'), '--redis-ca', cert, '--out', outDir('wrong-password')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/WRONGPASS|invalid username-password/);
    expect(wrong.stderr).not.toContain('not-the-password');
    const untrusted = await runCli(['burst', '--transport', 'ws', '--agents', '1', '--coordinator', url, '--out', outDir('untrusted')]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/self[- ]signed certificate/);
    expect(untrusted.stderr).not.toContain(PASSWORD);
  }, 60_000);
});
