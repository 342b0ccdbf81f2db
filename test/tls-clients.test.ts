import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import { startChild } from '../run/child.js';
import { outRoot, runCli } from './support/cli.js';

const outDir = outRoot();

/**
 * `wss://` and `https://` targets: the WebSocket and SSE subscribers read through TLS (raw-socket.ts)
 * and verify the certificate as Node does. A throwaway CA-less certificate for localhost and
 * 127.0.0.1 is made with openssl; a child process that trusts it (NODE_EXTRA_CA_CERTS) must read a
 * message over both transports, and one that does not must refuse the connection.
 */
const folder = mkdtempSync(join(tmpdir(), 'rtbench-tls-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const SCRIPT = `
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { openWebSocket } from './dist/clients/ws-connection.js';
import { sseClient } from './dist/clients/sse.js';
const [key, cert] = process.argv.slice(1);
const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write('data: sse over tls\\n\\n');
});
new WebSocketServer({ server }).on('connection', (socket) => socket.send('ws over tls'));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const seen = [];
for (const host of ['localhost', '127.0.0.1']) {
  await new Promise((resolve) => {
    const connection = openWebSocket({ url: 'wss://' + host + ':' + port + '/', handshakeTimeoutMs: 5000 }, {
      open: () => {},
      text: (text) => { seen.push(host + ' ' + text); connection.terminate(); resolve(); },
      closed: (code) => { if (code !== 'INTERRUPTED') seen.push(host + ' ws ' + code); resolve(); },
    });
  });
  const context = { resume: false, reconnect: { baseMs: 10, maxMs: 100 }, connectTimeoutMs: 5000, random: Math.random };
  const spec = { transport: 'sse', url: () => 'https://' + host + ':' + port + '/events', headers: () => ({}), openEvent: null, events: ['message'], read: (event) => ({ messages: [{ content: event.data }] }) };
  await new Promise((resolve) => {
    const subscription = sseClient.subscribe(context, spec, { onMessage: (content) => { seen.push(host + ' ' + content); void subscription.close(); resolve(); } });
    subscription.ready.catch((error) => { seen.push(host + ' sse ' + error.code); resolve(); });
  });
}
process.stdout.write(JSON.stringify(seen));
server.closeAllConnections();
server.close();
`;

function run(trust: boolean): string[] {
  const key = join(folder, 'key.pem');
  const cert = join(folder, 'cert.pem');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: trust ? cert : '' };
  if (!trust) delete env.NODE_EXTRA_CA_CERTS;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT, key, cert], { cwd: packageRoot, env, timeout: 30_000 });
  return JSON.parse(out.toString()) as string[];
}

describe('subscribers over TLS', () => {
  it('read wss:// and https:// streams from a trusted server, by name and by address, and refuse an untrusted one', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(folder, 'key.pem'), '-out', join(folder, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    expect(run(true)).toEqual(['localhost ws over tls', 'localhost sse over tls', '127.0.0.1 ws over tls', '127.0.0.1 sse over tls']);
    expect(run(false)).toEqual(['localhost ws DEPTH_ZERO_SELF_SIGNED_CERT', 'localhost sse DEPTH_ZERO_SELF_SIGNED_CERT', '127.0.0.1 ws DEPTH_ZERO_SELF_SIGNED_CERT', '127.0.0.1 sse DEPTH_ZERO_SELF_SIGNED_CERT']);
  });

  it('measures an https:// target whose certificate it is told to trust (--ca) or not to check (--insecure), and refuses it otherwise', async () => {
    const key = join(folder, 'key.pem');
    const cert = join(folder, 'cert.pem');
    const server = await startChild('tls target', join(packageRoot, 'test', 'fixtures', 'plain-contract-a-server.mjs'), ['--tls', key, cert]);
    try {
      expect(server.url).toMatch(/^https:/);
      const base = ['burst', '--target', server.url, '--transport', 'ws', '--subscribers', '2', '--bursts', '3'];
      const refused = await runCli([...base, '--out', outDir('tls-refused')]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|self-signed/i);
      for (const [name, extra] of [['ca', ['--ca', cert]], ['insecure', ['--insecure']]] as const) {
        const { code, stdout, stderr } = await runCli([...base, ...extra, '--json', '--out', outDir(`tls-${name}`)]);
        expect(code, stderr).toBe(0);
        const summary = JSON.parse(stdout) as { transports: Array<{ messages: { expected: number; received: number }; config: Record<string, unknown> }> };
        expect(summary.transports[0]!.messages).toMatchObject({ expected: 18, received: 18 }); // 2 subscribers x 3 bursts of 3
        if (name === 'insecure') {
          expect(summary.transports[0]!.config.insecure).toBe(true);
          expect(stderr).toContain('--insecure: no TLS certificate is verified in this run');
        } else {
          expect(summary.transports[0]!.config.ca).toBe(cert);
        }
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});
