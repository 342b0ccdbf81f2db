import { describe, expect, it } from 'vitest';
import { Opener, SEAL_TTL_MS, Sealer, agentKeyFromEnv } from '../agents/seal.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

describe('sealed messages between a coordinator and its agents', () => {
  it('opens what was sealed with the key for this channel and run', () => {
    const sealer = new Sealer(KEY, 'to:a');
    const opener = new Opener(KEY, 'to:a', 'increasing');
    expect(opener.open(sealer.seal('run1', 'hello'), 'run1')).toEqual({ body: 'hello', run: 'run1' });
    expect(opener.open(sealer.seal('run1', 'again'), 'run1')).toEqual({ body: 'again', run: 'run1' });
  });

  it('refuses the unsigned, the altered, another key, another channel and another run', () => {
    const sealed = new Sealer(KEY, 'to:a').seal('run1', 'work');
    const open = (text: string, key = KEY, channel = 'to:a', run: string | null = 'run1') => new Opener(key, channel, 'increasing').open(text, run);
    expect(open('run1')).toEqual({ refused: 'not a sealed message' });
    expect(open(JSON.stringify({ run: 'run1', seq: 1, exp: Date.now() + 1000, body: 'work' }))).toEqual({ refused: 'unsigned' });
    expect(open(sealed.replace('"work"', '"evil"'))).toEqual({ refused: 'bad signature (another key, or altered)' });
    expect(open(sealed, Buffer.from('another key of sixteen+'))).toEqual({ refused: 'bad signature (another key, or altered)' });
    // Meant for agent a: worthless to agent b.
    expect(open(sealed, KEY, 'to:b')).toEqual({ refused: 'bad signature (another key, or altered)' });
    expect(open(sealed, KEY, 'to:a', 'run2')).toEqual({ refused: 'for another run (run1)' });
  });

  it('refuses a replay: a message seen before, or a stale one', () => {
    const sealer = new Sealer(KEY, 'to:a');
    const first = sealer.seal('run1', 'one');
    const second = sealer.seal('run1', 'two');
    const opener = new Opener(KEY, 'to:a', 'increasing');
    expect(opener.open(first, 'run1')).toMatchObject({ body: 'one' });
    expect(opener.open(second, 'run1')).toMatchObject({ body: 'two' });
    expect(opener.open(second, 'run1')).toEqual({ refused: 'replayed (message 2, after 2)' });
    expect(opener.open(first, 'run1')).toEqual({ refused: 'replayed (message 1, after 2)' });
    let nowMs = 1_000_000;
    const old = new Sealer(KEY, 'claim:a', () => nowMs).seal('run1', 'claim');
    nowMs += SEAL_TTL_MS + 5000;
    expect(new Opener(KEY, 'claim:a', 'repeatable', () => nowMs).open(old)).toEqual({ refused: 'stale (expired 5 s ago)' });
  });

  it('reads a repeatable value (a claim) again and again, but never an older one', () => {
    const sealer = new Sealer(KEY, 'claim:a');
    const older = sealer.seal('run1', 'claim');
    const newer = sealer.seal('run1', 'claim');
    const opener = new Opener(KEY, 'claim:a', 'repeatable');
    expect(opener.open(newer)).toMatchObject({ run: 'run1' });
    expect(opener.open(newer)).toMatchObject({ run: 'run1' });
    expect(opener.open(older)).toEqual({ refused: 'replayed (message 1, after 2)' });
    // A new run numbers from one again.
    expect(opener.open(new Sealer(KEY, 'claim:a').seal('run2', 'claim'))).toMatchObject({ run: 'run2' });
  });

  it('wants a shared key of 16 characters or more, and says how to make one', () => {
    expect(() => agentKeyFromEnv({})).toThrow(/RTBENCH_AGENT_KEY is not set: .*at least 16 characters .*openssl rand -hex 32/);
    expect(() => agentKeyFromEnv({ RTBENCH_AGENT_KEY: 'short' })).toThrow(/RTBENCH_AGENT_KEY has 5 characters/);
    expect(agentKeyFromEnv({ RTBENCH_AGENT_KEY: 'x'.repeat(16) }).length).toBe(16);
  });
});
