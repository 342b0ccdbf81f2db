import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startChild } from '../run/child.js';
import { RtbError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { PROFILES } from '../targets/index.js';
import { checkProfile, loadProfile } from '../targets/load.js';
import { testCleanup } from './helpers.js';
import { outRoot, runCli, runJson } from './support/cli.js';

const cleanup = testCleanup();
const outDir = outRoot();
const EXAMPLE = join(packageRoot, 'docs', 'examples', 'notify-profile.ts');

describe('target profiles', () => {
  it('has the built-in profiles, each valid', () => {
    expect(Object.keys(PROFILES)).toEqual(['reference', 'spring-chat', 'spring-chat-comparison', 'rabbitmq', 'nchan', 'socketio']);
    for (const [name, profile] of Object.entries(PROFILES)) expect(checkProfile(profile, name).name).toBe(name);
  });

  it('loads a built-in by name, and a file of your own (.ts compiled, .js imported)', async () => {
    expect((await loadProfile('nchan')).ref).toEqual({ builtIn: 'nchan' });
    const own = await loadProfile(EXAMPLE);
    expect(own.profile.name).toBe('notify');
    expect(own.profile.transports).toEqual(['ws', 'sse']);
    expect('module' in own.ref && own.ref.module.endsWith('.mjs')).toBe(true);
  });

  it('rtbench profiles lists the built-ins, and shows one in full: transports, resume, options', async () => {
    const list = await runCli(['profiles']);
    expect(list.code).toBe(0);
    for (const profile of Object.values(PROFILES)) expect(list.stdout).toContain(`${profile.name.padEnd(22)}  ${profile.transports.join(', ')}: `);
    const socketio = await runCli(['profiles', 'socketio']);
    expect(socketio.code).toBe(0);
    expect(socketio.stdout).toMatch(/ws \(none\)\n {2}long-polling \(none\)/);
    expect(socketio.stdout).toMatch(/joinEvent +the event a subscriber emits with its room name to join it \(default: join\)/);
    const own = await runCli(['profiles', EXAMPLE]);
    expect(own.stdout).toMatch(/^notify: [^]*sse \(last-event-id\)[^]*Options: none/);
    const unknown = await runCli(['profiles', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'nope' is neither a built-in profile (reference, spring-chat");
  });

  it('refuses what is not a profile, naming every problem (usage errors, exit 2)', async () => {
    const refusal = async (text: string): Promise<RtbError> => {
      try {
        await loadProfile(text);
      } catch (error) {
        expect(error).toBeInstanceOf(RtbError);
        expect((error as RtbError).exitCode).toBe(2);
        return error as RtbError;
      }
      throw new Error(`${text} was accepted`);
    };
    expect((await refusal('nope')).message).toContain("--profile 'nope' is neither a built-in profile (reference, spring-chat, spring-chat-comparison, rabbitmq, nchan, socketio) nor a file path");
    expect((await refusal('./no/such/profile.js')).message).toContain('no such file');
    expect((await refusal(join(packageRoot, 'README.md'))).message).toContain('expected a .js, .mjs or .ts file');
    const broken = (await refusal(join(packageRoot, 'test', 'fixtures', 'profiles', 'broken-profile.mjs'))).message;
    for (const problem of ['`summary` must be a string', "`transports` names 'carrier-pigeon'", "`resume.ws` is 'sometimes'", '`publisher` must be a function']) expect(broken).toContain(problem);
  });
});

describe('a profile of your own, end to end (docs/examples/notify-profile.ts)', () => {
  it('measures both transports of the notify API; SSE resumes by default, the WebSocket cannot', async () => {
    const server = await startChild('notify server', join(packageRoot, 'test', 'fixtures', 'notify-server.mjs'), []);
    cleanup.add(() => server.stop());
    const summary = await runJson(['burst', '--profile', EXAMPLE, '--target', server.url, '--subscribers', '3', '--bursts', '10', '--out', outDir('notify')]);
    expect(summary.transports.map((t) => t.transport)).toEqual(['ws', 'sse']);
    for (const result of summary.transports) {
      expect(result.state, result.transport).toBe('completed');
      expect(result.messages, result.transport).toMatchObject({ expected: 90, received: 90, lost: 0, duplicated: 0 });
      expect(result.server).toBe(server.url);
    }
    expect(summary.transports.map((t) => [t.config.profile, t.config.resume, t.config.resumeKind])).toEqual([['notify', false, 'none'], ['notify', true, 'last-event-id']]);
  }, 60_000);

  it('says what is wrong with the command line before starting anything', async () => {
    const noTarget = await runCli(['burst', '--profile', 'spring-chat', '--out', outDir('refused')]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("option '--target'");
    expect(noTarget.stderr).toContain('profile spring-chat');
    const unknown = await runCli(['burst', '--profile', 'nope', '--out', outDir('refused')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--profile 'nope'");
    // Faults with resume only, over a transport the profile cannot resume: refused as --resume is.
    const resumeOnly = await runCli(['faults', '--profile', 'spring-chat', '--target', 'http://127.0.0.1:1', '--transport', 'stomp', '--modes', 'on', '--out', outDir('refused')]);
    expect(resumeOnly.code).toBe(2);
    expect(resumeOnly.stderr).toMatch(/--modes.*on.*profile spring-chat cannot resume over stomp/);
    const withResume = await runCli(['faults', '--profile', 'spring-chat', '--target', 'http://127.0.0.1:1', '--transport', 'stomp', '--resume', '--out', outDir('refused')]);
    expect(withResume.code).toBe(2);
  });
});
