import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detailsOf } from '../core/details.js';
import { packageRoot } from '../core/paths.js';
import { startChild } from '../run/child.js';
import { startServer, testCleanup } from './helpers.js';
import { outRoot, runCli, runJson } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();
const SERVER = join(packageRoot, 'test', 'fixtures', 'plain-contract-a-server.mjs');
const PROFILE = join(packageRoot, 'docs', 'examples', 'ping-pong-profile.ts');
/** The server pings every 200 ms and closes a socket silent for 500 ms: a 4 s soak spans 20 pings. */
const SOAK = ['soak', '--transport', 'ws', '--connections', '5', '--duration', '4s', '--interval', '500ms'];

describe('a WebSocket subscription that talks back', () => {
  it("subscribes once open and answers the server's application ping: no socket is closed for silence", async () => {
    const server = await startChild('two-way server', SERVER, ['--app-ping-ms', '200', '--subscribe-first']);
    cleanup.add(() => server.stop());
    const [result] = (await runJson([...SOAK, '--target', server.url, '--profile', PROFILE, '--out', outDir('answered')])).transports;
    expect(result!.messages).toMatchObject({ lost: 0, duplicated: 0 });
    expect(result!.messages.received).toBe(result!.messages.expected);
    expect(result!.messages.expected).toBeGreaterThanOrEqual(5 * 8);
    expect(detailsOf(result!, 'soak')!.totals).toMatchObject({ disconnects: 0, reconnects: 0 });
    expect(result!.errors).toEqual({});
    // A subscribe per socket, and pongs: 20 pings in the 4 s measured, more while connecting.
    expect(result!.connections.sends).toBeGreaterThanOrEqual(5 * (1 + 10));
  }, 60_000);

  it('is closed for silence when it does not answer (the reference profile cannot)', async () => {
    const server = await startChild('pinging server', SERVER, ['--app-ping-ms', '200']);
    cleanup.add(() => server.stop());
    const [result] = (await runJson([...SOAK, '--target', server.url, '--out', outDir('silent')])).transports;
    expect(detailsOf(result!, 'soak')!.totals.disconnects).toBeGreaterThan(0);
    expect(Object.keys(result!.errors).join(' ')).toMatch(/WS_CLOSE_4000/);
  }, 60_000);
});

describe('a warm-up that receives nothing', () => {
  it("says what arrived instead and points at the profile's read()", async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const profile = join(packageRoot, 'test', 'fixtures', 'profiles', 'wrong-read.mjs');
    const { code, stderr } = await runCli(['burst', '--target', url, '--profile', profile, '--transport', 'ws', '--subscribers', '2', '--bursts', '2', '--connect-timeout', '1s', '--out', outDir('wrong-read')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/2 of 2 ws subscribers received no warm-up message within 5 s; what arrived instead: \d+ message\(s\) without this run's marker in their content, the first "frame:\{/);
    expect(stderr).toMatch(/check profile wrong-read's subscription read\(\)/);
  }, 60_000);
});
