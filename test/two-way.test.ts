import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detailsOf } from '../core/details.js';
import { packageRoot } from '../core/paths.js';
import { startChild } from '../run/child.js';
import { testCleanup } from './helpers.js';
import { outRoot, runJson } from './support/cli.js';

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
  }, 60_000);

  it('is closed for silence when it does not answer (the reference profile cannot)', async () => {
    const server = await startChild('pinging server', SERVER, ['--app-ping-ms', '200']);
    cleanup.add(() => server.stop());
    const [result] = (await runJson([...SOAK, '--target', server.url, '--out', outDir('silent')])).transports;
    expect(detailsOf(result!, 'soak')!.totals.disconnects).toBeGreaterThan(0);
    expect(Object.keys(result!.errors).join(' ')).toMatch(/WS_CLOSE_4000/);
  }, 60_000);
});
