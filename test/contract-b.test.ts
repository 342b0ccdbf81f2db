import { once } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { type ChildHandle, startChild } from '../run/child.js';
import { packageRoot } from '../core/paths.js';
import { getJson, testCleanup } from './helpers.js';
import { outRoot, runCli, runJson } from './support/cli.js';
import { detailsOf } from '../core/details.js';

/**
 * rtbench's spring-chat profiles against contract B (the study's Spring service), served by
 * test/fixtures/contract-b-server.mjs in both shapes: logins, rooms, membership, wrapped answers,
 * UUIDs, tokens that expire, STOMP heart-beats.
 */
const cleanup = testCleanup();
const outDir = outRoot();

interface Report {
  readonly users: number;
  readonly logins: number;
  readonly stompSessions: number;
  readonly expiredSessions: number;
  readonly silentSessions: number;
  readonly refusedNonMember: number;
}

async function contractB(config: { shape: 'current' | 'comparison'; tokenTtlMs?: number; heartbeatMs?: number }): Promise<ChildHandle> {
  const child = await startChild('contract-B server', join(packageRoot, 'test', 'fixtures', 'contract-b-server.mjs'), [JSON.stringify(config)]);
  cleanup.add(() => child.stop());
  return child;
}

const report = async (server: ChildHandle): Promise<Report> => (await getJson(`${server.url}/_fixture/report`)).body as Report;

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function user(server: ChildHandle, name: string): Promise<{ token: string; userId: string }> {
  expect((await post(`${server.url}/users`, { email: `${name}@x.test`, password: 'password-1', nickname: name })).status).toBe(201);
  const login = await post(`${server.url}/auth/login`, { email: `${name}@x.test`, password: 'password-1' });
  return { token: login.body.data.accessToken, userId: login.body.data.userId };
}

describe('contract B, shape comparison (spring-chat-comparison)', () => {
  it('measures SSE, long polling and STOMP; cursor-less long polling loses messages on a real link, the others do not', async () => {
    const server = await contractB({ shape: 'comparison' });
    const summary = await runJson([
      'burst', '--target', server.url, '--profile', 'spring-chat-comparison', '--transport', 'all', '--subscribers', '3', '--bursts', '10',
      '--gap', '10ms', '--pause', '10ms', '--delay', '20', '--out', outDir('comparison'),
    ]);
    const byTransport = Object.fromEntries(summary.transports.map((t) => [t.transport, t]));
    expect(Object.keys(byTransport)).toEqual(['sse', 'long-polling', 'stomp']);
    for (const result of summary.transports) {
      expect(result.state, result.transport).toBe('completed');
      expect(result.config, result.transport).toMatchObject({ profile: 'spring-chat-comparison', resume: false, resumeKind: 'none' });
      expect(result.messages.expected, result.transport).toBe(90);
      // Publish and push both cross the 20 ms link.
      expect(result.latencyUs.perMessage.min, result.transport).toBeGreaterThanOrEqual(40_000);
    }
    expect(byTransport.sse?.messages.lost).toBe(0);
    expect(byTransport.stomp?.messages.lost).toBe(0);
    // A poll answered and the next one on its way across the link (40 ms) miss messages 10 ms apart.
    expect(byTransport['long-polling']?.messages.lost).toBeGreaterThan(30);
  }, 90_000);

  it('soaks and takes faults on every transport; without a cursor, long polling loses even in a stall', async () => {
    const server = await contractB({ shape: 'comparison' });
    const soak = await runJson(['soak', '--target', server.url, '--profile', 'spring-chat-comparison', '--transport', 'all', '--connections', '3', '--duration', '4s', '--interval', '1s', '--out', outDir('comparison-soak')]);
    for (const result of soak.transports) {
      expect(result.state, result.transport).toBe('completed');
      expect(result.messages, result.transport).toMatchObject({ expected: 12, received: 12, lost: 0 });
    }
    const faults = await runJson([
      'faults', '--target', server.url, '--profile', 'spring-chat-comparison', '--transport', 'all', '--connections', '3', '--window', '3s', '--outage', '1s', '--deadline', '2500ms', '--out', outDir('comparison-faults'),
    ]);
    type Row = { resume: boolean; fault: string; disconnects: number; messages: { lost: number } };
    const byFault = (transport: string): Record<string, Row> => {
      const details = detailsOf(faults.transports.find((t) => t.transport === transport)!, 'faults')!;
      return Object.fromEntries(details.faults.map((r) => [r.fault, r]));
    };
    for (const transport of ['sse', 'long-polling', 'stomp']) {
      const rows = byFault(transport);
      expect(Object.keys(rows), transport).toEqual(['cut', 'outage', 'stall', 'random-loss']);
      expect(rows.outage?.disconnects, transport).toBe(3);
      // Nothing resumes: what was published while the subscribers were away is gone.
      expect(rows.outage?.messages.lost, transport).toBeGreaterThan(0);
    }
    // A stall disconnects nobody; the pushing transports deliver the held bytes, cursor-less long polling cannot.
    expect(byFault('sse').stall?.messages.lost).toBe(0);
    expect(byFault('stomp').stall?.messages.lost).toBe(0);
    expect(byFault('long-polling').stall?.messages.lost).toBeGreaterThan(0);
  }, 150_000);

  it('refuses --resume (no push channel has a cursor) and a transport the shape does not serve', async () => {
    const server = await contractB({ shape: 'comparison' });
    const resume = await runCli(['burst', '--target', server.url, '--profile', 'spring-chat-comparison', '--resume', '--out', outDir('refused')]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain("option '--resume'");
    expect(resume.stderr).toContain('cannot resume over sse, long-polling, stomp');
    const ws = await runCli(['burst', '--target', server.url, '--profile', 'spring-chat-comparison', '--transport', 'ws', '--out', outDir('refused')]);
    expect(ws.code).toBe(2);
    expect(ws.stderr).toContain('one the profile spring-chat-comparison serves: sse, long-polling, stomp');
  });
});

describe('contract B, shape current (spring-chat)', () => {
  it('measures STOMP with a user of its own per subscriber, each a member of its room', async () => {
    const server = await contractB({ shape: 'current' });
    const summary = await runJson(['burst', '--target', server.url, '--profile', 'spring-chat', '--subscribers', '4', '--bursts', '10', '--out', outDir('current')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['stomp']);
    expect(summary.transports[0]?.messages).toMatchObject({ expected: 120, received: 120, lost: 0, duplicated: 0 });
    // Four subscribers and the publisher, each signed up and logged in; one STOMP session each.
    expect(await report(server)).toMatchObject({ users: 5, logins: 5, stompSessions: 4, expiredSessions: 0, silentSessions: 0 });
  }, 60_000);

  it("only members receive a room's messages, and a non-member may not publish", async () => {
    const server = await contractB({ shape: 'current' });
    const owner = await user(server, 'owner');
    const outsider = await user(server, 'outsider');
    const room = await post(`${server.url}/chat-rooms`, { name: 'r' }, owner.token);
    const refused = await post(`${server.url}/messages`, { chatRoomId: room.body.data.id, content: 'x' }, outsider.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('MESSAGE_003');
    expect((await report(server)).refusedNonMember).toBe(1);
    // Both subscribe to their own topic; only the member gets the message, with recipientUserId added.
    const received = new Map<string, string[]>();
    for (const who of [owner, outsider]) {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
      cleanup.add(() => socket.terminate());
      await once(socket, 'open');
      const got: string[] = [];
      received.set(who.userId, got);
      socket.on('message', (data) => got.push(data.toString()));
      socket.send(`CONNECT\naccept-version:1.2\nAuthorization:Bearer ${who.token}\nheart-beat:0,0\n\n\0`);
      socket.send(`SUBSCRIBE\nid:0\ndestination:/topic/user/${who.userId}/messages\n\n\0`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(`${server.url}/messages`, { chatRoomId: room.body.data.id, content: 'members only' }, owner.token)).status).toBe(201);
    for (let i = 0; i < 100 && !(received.get(owner.userId) ?? []).some((f) => f.includes('members only')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const ownerFrames = received.get(owner.userId)!.filter((f) => f.startsWith('MESSAGE'));
    expect(ownerFrames).toHaveLength(1);
    expect(ownerFrames[0]).toContain(`"recipientUserId":"${owner.userId}"`);
    expect(received.get(outsider.userId)!.filter((f) => f.startsWith('MESSAGE'))).toEqual([]);
  });

  it('renews a session whose token expires mid-soak, counting the expiries and whatever was lost', async () => {
    const server = await contractB({ shape: 'current', tokenTtlMs: 2500, heartbeatMs: 500 });
    const summary = await runJson([
      'soak', '--target', server.url, '--profile', 'spring-chat', '--connections', '3', '--duration', '8s', '--interval', '1s', '--heartbeat', '500ms', '--reconnect-max', '200ms', '--out', outDir('expiry'),
    ]);
    const [result] = summary.transports;
    const fixture = await report(server);
    // Every subscriber's session expired at least twice in 8 s with 2.5 s tokens; each was renewed.
    expect(fixture.expiredSessions).toBeGreaterThanOrEqual(6);
    expect(result?.errors['subscriber:STOMP_ERROR:COMMON_005']).toBe(fixture.expiredSessions);
    expect(result?.connections.reconnects).toBe(fixture.expiredSessions);
    // Logins: 4 at provisioning, then one per renewal (the publisher's token too, when a publish is refused).
    expect(fixture.logins).toBeGreaterThanOrEqual(4 + fixture.expiredSessions);
    // Heart-beats both ways kept every session alive between messages: none closed for silence.
    expect(fixture.silentSessions).toBe(0);
    // Nothing is unaccounted for: every expected delivery was received or counted lost.
    expect(result!.messages.received + result!.messages.lost).toBe(result!.messages.expected);
    expect(result!.messages.expected).toBeGreaterThanOrEqual(3 * 7);
  }, 60_000);

  it('the server closes a session that promised heart-beats and went silent', async () => {
    const server = await contractB({ shape: 'current', heartbeatMs: 200 });
    const owner = await user(server, 'quiet');
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    cleanup.add(() => socket.terminate());
    await once(socket, 'open');
    const closed = once(socket, 'close');
    socket.send(`CONNECT\naccept-version:1.2\nAuthorization:Bearer ${owner.token}\nheart-beat:200,200\n\n\0`);
    const started = Date.now();
    await closed;
    // Silent for more than 3 intervals of 200 ms: closed within a second or so.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await report(server)).silentSessions).toBe(1);
  });

  it('rtbench faults runs it without resume (it has none), and says so', async () => {
    const server = await contractB({ shape: 'current' });
    const summary = await runJson(['faults', '--target', server.url, '--profile', 'spring-chat', '--connections', '3', '--window', '3s', '--outage', '1s', '--deadline', '2500ms', '--out', outDir('b-faults')]);
    const details = detailsOf(summary.transports[0]!, 'faults')!;
    expect(details.skipped).toEqual(['restart: skipped, rtbench can restart only a built-in server it started (not a --target)', 'resume on: skipped, profile spring-chat cannot resume over stomp']);
    const rows = details.faults;
    expect(rows.map((r) => [r.resume, r.fault])).toEqual([[false, 'cut'], [false, 'outage'], [false, 'stall'], [false, 'random-loss']]);
    expect(rows[0]?.disconnects).toBe(3);
  }, 60_000);
});
