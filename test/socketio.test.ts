import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detailsOf } from '../core/details.js';
import { packageRoot } from '../core/paths.js';
import { startChild } from '../run/child.js';
import { getJson, testCleanup } from './helpers.js';
import { outRoot, runCli, runJson } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();
const SERVER = join(packageRoot, 'test', 'fixtures', 'socketio-server.mjs');

/** The built-in socketio profile against a real Socket.IO 4 server (the socket.io package). */
describe('--profile socketio', () => {
  it('measures a Socket.IO 4 server over WebSocket and long polling: exact counts, no resume, said', async () => {
    const server = await startChild('socket.io server', SERVER, []);
    cleanup.add(() => server.stop());
    const summary = await runJson(['burst', '--profile', 'socketio', '--target', server.url, '--transport', 'all', '--subscribers', '5', '--bursts', '20', '--out', outDir('socketio-burst')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'long-polling']);
    for (const result of summary.transports) {
      expect(result.messages).toMatchObject({ expected: 300, received: 300, lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0 });
      expect(result.config.resume).toEqual(false);
      expect(result.errors).toEqual({});
      // Each subscriber said at least `40` (long polling: its own) and its join; more would be pongs.
      expect(result.connections.sends).toBeGreaterThanOrEqual(5 * 2);
    }
  }, 60_000);

  it("answers engine.io's pings on both transports: a soak over many ping intervals keeps every session", async () => {
    // A ping every 500 ms, answered within 3 s or the session is dropped: a client that ignores pings
    // is dropped 3.5 s into its session, well within the soak, while a loaded CI machine's stall (a
    // polling session's answer was once late by more than 800 ms there) is not taken for one.
    const server = await startChild('socket.io server', SERVER, ['--ping-ms', '500', '--ping-timeout-ms', '3000']);
    cleanup.add(() => server.stop());
    const summary = await runJson(['soak', '--profile', 'socketio', '--target', server.url, '--transport', 'all', '--connections', '5', '--duration', '8s', '--interval', '500ms', '--out', outDir('socketio-soak')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'long-polling']);
    for (const result of summary.transports) {
      expect(result.messages).toMatchObject({ lost: 0, duplicated: 0 });
      expect(result.messages.received).toBe(result.messages.expected);
      expect(detailsOf(result, 'soak')!.totals).toMatchObject({ disconnects: 0, reconnects: 0 });
      // Over 8 s at a ping every 500 ms, each session answered many pings (the 16 it had, less slack).
      expect(result.connections.sends).toBeGreaterThanOrEqual(5 * (2 + 10));
      expect(result.errors).toEqual({});
    }
    // Publishers' sessions too: each drop is named (transport, subscriber or publisher) if one happens.
    expect((await getJson(`${server.url}/dropped`)).body).toEqual({ dropped: 0, drops: [] });
  }, 90_000);

  it('takes other names with --profile-opt, and refuses a key it does not know, listing those it does', async () => {
    const server = await startChild('socket.io server', SERVER, ['--other-names']);
    cleanup.add(() => server.stop());
    const names = ['namespace=/chat', 'joinEvent=subscribe', 'messageEvent=chat', 'contentField=text', 'publishEvent=say'].flatMap((o) => ['--profile-opt', o]);
    const { transports } = await runJson(['burst', '--profile', 'socketio', '--target', server.url, ...names, '--subscribers', '3', '--bursts', '5', '--out', outDir('socketio-names')]);
    expect(transports.map((t) => [t.transport, t.messages.received, t.messages.lost])).toEqual([
      ['ws', 45, 0],
      ['long-polling', 45, 0],
    ]);
    const refused = await runCli(['burst', '--profile', 'socketio', '--target', server.url, '--profile-opt', 'room=x', '--out', outDir('socketio-refused')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--profile-opt.*room=x.*a key profile socketio takes: path .*joinEvent .*default join/);
    const none = await runCli(['burst', '--profile-opt', 'x=1', '--out', outDir('reference-refused')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('profile reference takes no options');
  }, 60_000);
});
