import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../core/transports.js';
import { nchanProfile, readMetaFrame } from '../targets/nchan.js';
import { rabbitmqProfile } from '../targets/rabbitmq.js';
import { clientContext, collect, referenceTarget, testCleanup } from './helpers.js';
import { outRoot, runJson } from './support/cli.js';
import { RABBITMQ_WEB_STOMP, nchanMissing, rabbitmqMissing, startNchan } from '../bench/services.js';
import { detailsOf } from '../core/details.js';
import type { TransportResult } from '../core/result.js';
import { seededCuts } from './support/faults.js';

/**
 * rtbench against servers written by others: RabbitMQ's Web-STOMP plugin (STOMP subscribers and a
 * STOMP publisher) and nginx with nchan (WebSocket, SSE and long polling, with resume). Skipped,
 * with the reason printed, where the server cannot be had; `.ci/run` makes sure both can.
 */
const cleanup = testCleanup();
const outDir = outRoot();
const rabbitmq = await rabbitmqMissing();
const nchan = nchanMissing();
if (rabbitmq) console.warn(`skipping the RabbitMQ tests: ${rabbitmq}`);
if (nchan) console.warn(`skipping the nchan tests: ${nchan}`);

describe.skipIf(rabbitmq !== null)('RabbitMQ Web-STOMP (rabbitmq profile)', () => {
  it('a STOMP subscriber receives what the STOMP publisher sends, with a receipt for each send', async () => {
    const target = referenceTarget(RABBITMQ_WEB_STOMP, 'stomp', { runId: `t${Date.now()}`, resume: false });
    const provisioned = await rabbitmqProfile.provision(target, { rooms: 1, subscriberRooms: [0], tag: '', concurrency: 1 });
    const ctx = clientContext({ resume: false });
    const sub = collect('stomp', ctx, rabbitmqProfile.subscription(target, provisioned, { index: 0, room: 0 }));
    cleanup.add(() => sub.subscription.close());
    await sub.subscription.ready;
    const publisher = rabbitmqProfile.publisher(target, provisioned);
    cleanup.add(() => publisher.close());
    // The subscription is live once something arrives on it (no RECEIPT for SUBSCRIBE is relied on).
    for (let i = 0; i < 100 && sub.received.contents.length === 0; i++) {
      expect((await publisher.publish(0, `warm-${i}`)).errorCode).toBeNull();
      await sub.until((r) => r.contents.length > 0, 'a warm-up message', 50).catch(() => {});
    }
    const sent = ['one', 'two', 'ünïcödé ✓'];
    for (const content of sent) {
      const outcome = await publisher.publish(0, content);
      expect(outcome.errorCode).toBeNull();
      expect(outcome.rttUs).toBeGreaterThan(0);
    }
    await sub.until((r) => r.contents.includes(sent[2]!), 'the three messages');
    expect(sub.received.contents.filter((c) => !c.startsWith('warm-'))).toEqual(sent);
  });

  it('rtbench burst --profile rabbitmq measures STOMP end to end, nothing lost, resume off by default', async () => {
    const summary = await runJson(['burst', '--transport', 'all', '--target', RABBITMQ_WEB_STOMP, '--profile', 'rabbitmq', '--subscribers', '5', '--bursts', '10', '--out', outDir('rabbitmq')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['stomp']);
    const [result] = summary.transports;
    expect(result?.state).toBe('completed');
    expect(result?.messages).toMatchObject({ expected: 150, received: 150, lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(result?.config).toMatchObject({ profile: 'rabbitmq', resume: false, resumeKind: 'none' });
    expect(result?.latencyUs.publishRtt.count).toBe(30);
  }, 60_000);
});

describe.skipIf(nchan !== null)('nginx + nchan (nchan profile)', () => {
  let server: { url: string; stop(): Promise<void> } | null = null;
  beforeAll(async () => {
    server = await startNchan();
  });
  afterAll(async () => server?.stop());

  it('reads the id nchan puts before each WebSocket frame', () => {
    expect(readMetaFrame('id: 1795614572:3\ncontent-type: text/plain\n\nhello\n\nworld')).toEqual({ messages: [{ content: 'hello\n\nworld', id: '1795614572:3' }], cursor: '1795614572:3' });
    expect(readMetaFrame('garbage')).toMatchObject({ error: 'NCHAN_BAD_FRAME' });
  });

  it('rtbench burst --profile nchan measures WebSocket, SSE and long polling, nothing lost, resuming by default', async () => {
    const summary = await runJson(['burst', '--transport', 'all', '--target', server!.url, '--profile', 'nchan', '--subscribers', '5', '--bursts', '10', '--out', outDir('nchan')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling']);
    for (const result of summary.transports) {
      expect(result.state, result.transport).toBe('completed');
      expect(result.messages, result.transport).toMatchObject({ expected: 150, received: 150, lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(result.config, result.transport).toMatchObject({ profile: 'nchan', resume: true });
    }
  }, 90_000);

  it('rtbench faults --profile nchan: with resume nothing is lost to a cut, an outage or a stall; without, long polling loses the outage', async () => {
    const outageMs = 1000;
    const faults = ['--target', server!.url, '--profile', 'nchan', '--connections', '3', '--window', '3s', '--outage', `${outageMs}ms`, '--deadline', '2500ms', '--seed', '1'];
    const rowsOf = (result: TransportResult) => detailsOf(result, 'faults')!.faults;
    const resumed = await runJson(['faults', '--transport', 'all', '--modes', 'on', ...faults, '--out', outDir('nchan-faults-on')]);
    expect(resumed.transports.map((t) => t.transport)).toEqual(['ws', 'sse', 'long-polling']);
    for (const result of resumed.transports) {
      const rows = rowsOf(result);
      // No restart row: rtbench cannot restart a server it did not start.
      expect(rows.map((r) => r.fault), result.transport).toEqual(['cut', 'outage', 'stall', 'random-loss']);
      for (const row of rows) {
        expect(row.messages, `${result.transport} ${row.fault}`).toMatchObject({ lost: 0, duplicated: 0 });
        expect(row.messages.received, `${result.transport} ${row.fault}`).toBe(row.messages.expected);
        expect(row.messages.expected, `${result.transport} ${row.fault}`).toBeGreaterThan(0);
      }
      // Each fault bit: what it cut, how long it kept subscribers away, what it held.
      const byFault = Object.fromEntries(rows.map((r) => [r.fault, r]));
      const name = result.transport;
      expect(byFault.cut?.disconnects, name).toBe(3);
      expect(byFault.cut?.recoveryMs, name).not.toBeNull();
      expect(byFault.outage?.disconnects, name).toBe(3);
      expect(byFault.outage?.recoveryMs, name).toBeGreaterThanOrEqual(outageMs);
      expect(byFault.stall?.disconnects, name).toBe(0);
      expect(byFault.stall?.latencyUs.max, name).toBeGreaterThanOrEqual((outageMs - 250) * 1000);
      expect(byFault.stall?.latencyUs.max, name).toBeLessThan((outageMs + 250) * 1000);
      expect(byFault['random-loss']?.disconnects, name).toBe(seededCuts(1, 0.2, 3, 2));
    }
    const cursorless = await runJson(['faults', '--transport', 'long-polling', '--modes', 'off', ...faults, '--out', outDir('nchan-faults-off')]);
    const outage = rowsOf(cursorless.transports[0]!).find((r) => r.fault === 'outage');
    expect(outage?.messages.lost).toBeGreaterThan(0);
  }, 150_000);
});

describe('profile registry', () => {
  it('serves only transports of the registry', () => {
    for (const profile of [nchanProfile, rabbitmqProfile]) for (const t of profile.transports) expect(TRANSPORTS).toContain(t);
  });
});
