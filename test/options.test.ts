import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../core/duration.js';
import { COMMON_OPTIONS, commonConfigFrom, duration, integer } from '../run/options.js';
import { RtbError } from '../core/errors.js';
import { runCli } from './support/cli.js';

describe('durations', () => {
  it('take units, a bare number being milliseconds', () => {
    expect(parseDurationMs('50')).toBe(50);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('30m')).toBe(1_800_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('250us')).toBe(0.25);
    for (const bad of ['', 'abc', '-5', '5x', '1.2.3s', 's']) expect(parseDurationMs(bad), bad).toBeNull();
    expect(formatDurationMs(90_000)).toBe('90s');
    expect(formatDurationMs(50)).toBe('50ms');
  });
});

describe('option parsers', () => {
  it('integer() accepts the range and says what it accepts otherwise', () => {
    const parse = integer(1, 10);
    expect(parse('1')).toBe(1);
    expect(parse('10')).toBe(10);
    for (const bad of ['0', '11', '1.5', 'abc', '', ' ']) {
      expect(() => parse(bad), bad).toThrow(InvalidArgumentError);
      expect(() => parse(bad), bad).toThrow('expected an integer from 1 to 10');
    }
  });

  it('duration() accepts units within bounds', () => {
    const parse = duration(0, 60_000);
    expect(parse('50')).toBe(50);
    expect(parse('2s')).toBe(2000);
    expect(() => parse('2m')).toThrow('expected a duration from 0ms to 1m');
    expect(() => parse('soon')).toThrow(InvalidArgumentError);
  });

  it('--header parses Name: value and accumulates', () => {
    const spec = COMMON_OPTIONS.find((o) => o.flags.includes('--header'))!;
    const first = spec.parse!('Authorization: Bearer abc', {});
    expect(spec.parse!('X-Trace:  1', first)).toEqual({ Authorization: 'Bearer abc', 'X-Trace': '1' });
    expect(() => spec.parse!('no colon here', {})).toThrow("expected 'Name: value'");
  });

  it('--target accepts only http(s) URLs, one or several comma-separated', () => {
    const spec = COMMON_OPTIONS.find((o) => o.flags.includes('--target'))!;
    expect(spec.parse!('http://127.0.0.1:8080/', undefined)).toEqual(['http://127.0.0.1:8080']);
    expect(spec.parse!('http://127.0.0.1:1, http://127.0.0.1:2/api/', undefined)).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2/api']);
    expect(() => spec.parse!('http://127.0.0.1:1,ftp://x', undefined)).toThrow(InvalidArgumentError);
    expect(() => spec.parse!('ftp://x', undefined)).toThrow(InvalidArgumentError);
    expect(() => spec.parse!('not a url', undefined)).toThrow(InvalidArgumentError);
  });

  it('--bus is memory, redis (the local one) or a redis:// URL', () => {
    const spec = COMMON_OPTIONS.find((o) => o.flags.startsWith('--bus'))!;
    expect(spec.parse!('memory', undefined)).toBe('memory');
    expect(spec.parse!('redis', undefined)).toBe('redis://127.0.0.1:6379');
    expect(spec.parse!('redis://10.0.0.5:6380', undefined)).toBe('redis://10.0.0.5:6380');
    for (const bad of ['kafka', 'http://127.0.0.1:6379', '']) expect(() => spec.parse!(bad, undefined), bad).toThrow(InvalidArgumentError);
  });

  it('rejects a jitter larger than the delay with a usage error naming both', () => {
    const options = { transport: 'ws', header: {}, instances: 1, delay: 10, jitter: 20, delayMode: 'link', resume: true, deadline: 10_000, connectTimeout: 5000, pollTimeout: 30_000, seed: 1, out: 'results', json: false, quiet: false };
    try {
      commonConfigFrom(options);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(RtbError);
      expect((error as RtbError).exitCode).toBe(2);
      expect((error as Error).message).toContain('--jitter');
      expect((error as Error).message).toContain('--delay');
    }
    expect(commonConfigFrom({ ...options, jitter: 5 }).transport).toBe('ws');
    expect(commonConfigFrom({ ...options, transport: 'all', jitter: 0 }).transport).toBe('all');
  });
});

describe('--dry-run', () => {
  it('says how long measuring takes, a transport and all of them one after another', async () => {
    const soak = await runCli(['soak', '--dry-run']);
    expect(soak.code).toBe(0);
    expect(soak.stdout).toContain('measuring takes up to 30m a transport, 2h for all 4 one after another');
    const burst = await runCli(['burst', '--transport', 'ws', '--bursts', '10', '--pause', '200ms', '--dry-run']);
    // 10 bursts of 3 messages 50 ms apart, 200 ms between bursts: 10 x (2 x 50 + 200) ms.
    expect(burst.stdout).toContain('measuring takes up to 3s a transport (connecting');
  });

  it('refuses a memory-slope threshold on a soak too short to fit one, naming the rule and the duration', async () => {
    const { code, stderr } = await runCli(['soak', '--duration', '60s', '--interval', '5s', '--threshold', 'serverRssSlope<2MiB/h', '--dry-run']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--threshold.*serverRssSlope<2MiB\/h.*soak of 1h or more \(--duration 1m is too short/);
    expect((await runCli(['soak', '--duration', '2h', '--threshold', 'serverRssSlope<2MiB/h', '--dry-run'])).code).toBe(0);
  });
});
