import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactArgv, redactOptions, redactUrl } from '../core/redact.js';
import { headersFromEnvironment } from '../run/options.js';
import { getJson, startServer, testCleanup } from './helpers.js';
import { outRoot, runCli } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();

/** Every file under `dir`, as text. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'utf8') }];
  });
}

describe('secrets in what rtbench records', () => {
  it('redacts URL passwords and credential-like query values, header values, and leaves the rest as given', () => {
    expect(redactUrl('http://u:hunter2@host:8080/api?token=abc&room=7')).toBe('http://u:***@host:8080/api?token=***&room=7');
    expect(redactUrl('http://host:8080')).toBe('http://host:8080');
    expect(redactUrl('redis://:pw@a:6379,http://b?api_key=k')).toBe('redis://:***@a:6379,http://b/?api_key=***');
    expect(redactArgv(['burst', '-H', 'Authorization: Bearer abc', '--header=X-Key: k', '--target', 'http://h?access_token=t'])).toEqual(['burst', '-H', 'Authorization: ***', '--header=X-Key: ***', '--target', 'http://h/?access_token=***']);
    expect(redactOptions({ header: { Authorization: 'Bearer abc' }, target: 'http://u:p@h', subscribers: 10 })).toEqual({ header: { Authorization: '***' }, target: 'http://u:***@h/', subscribers: 10 });
    expect(headersFromEnvironment({ RTBENCH_HEADER_X_API_KEY: 'k', RTBENCH_HEADER_AUTHORIZATION: 'Bearer a', PATH: '/bin' })).toEqual({ 'X-Api-Key': 'k', Authorization: 'Bearer a' });
  });

  it('sends secrets from -H, --header-file and RTBENCH_HEADER_* on the wire, and writes or prints none of them', async () => {
    const { app, url } = await startServer();
    cleanup.add(() => app.close());
    const file = join(mkdtempSync(join(tmpdir(), 'rtb-headers-')), 'headers');
    writeFileSync(file, '# secrets kept out of argv\nX-Api-Key: SECRET-FROM-FILE-2\n');
    const dir = outDir('redacted');
    const secrets = ['SECRET-FROM-ARGV-1', 'SECRET-FROM-FILE-2', 'SECRET-FROM-ENV-3', 'SECRET-PASS-4'];
    const { code, stdout, stderr } = await runCli(
      ['burst', '--target', url, '--transport', 'ws', '--subscribers', '2', '--bursts', '2', '-H', 'Authorization: Bearer SECRET-FROM-ARGV-1', '--header-file', file, '--coordinator', 'redis://user:SECRET-PASS-4@127.0.0.1:6379', '--threshold', 'lost==0', '--json', '--out', dir],
      { env: { ...process.env, RTBENCH_HEADER_X_TRACE: 'SECRET-FROM-ENV-3' } },
    );
    expect(code, stderr).toBe(0);
    // On the wire: the reference server takes the bearer token as the user id.
    const summary = JSON.parse(stdout) as { runId: string };
    const history = await getJson(`${url}/messages?chatRoomId=rtb-${summary.runId}-ws-r0&since=0&limit=100`);
    expect(new Set(history.body.map((m: { userId: string }) => m.userId))).toEqual(new Set(['SECRET-FROM-ARGV-1']));
    const written = [{ path: 'stdout', text: stdout }, { path: 'stderr', text: stderr }, ...filesUnder(dir)];
    expect(written.length).toBeGreaterThanOrEqual(5);
    for (const { path, text } of written) for (const secret of secrets) expect(text.includes(secret), `${secret} in ${path}`).toBe(false);
    expect(stdout).toContain('Authorization: ***');
  }, 60_000);

  it('names an unreachable --target without its token', async () => {
    const { code, stderr } = await runCli(['burst', '--target', 'http://127.0.0.1:1/?token=SECRET-QUERY-5', '--transport', 'ws', '--out', outDir('unreachable')]);
    expect(code).toBe(1);
    expect(stderr).toContain('token=***');
    expect(stderr).not.toContain('SECRET-QUERY-5');
  });
});
