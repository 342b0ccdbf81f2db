import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Ceiling } from '../scenarios/ceiling.js';
import { CEILING_SHARE, kneeAgainstCeiling } from '../scenarios/throughput.js';
import { highestPublishRate } from '../load/publish-ceiling.js';
import { packageRoot } from '../core/paths.js';
import type { RunSummary } from '../core/result.js';
import { onlyRunFolder, outRoot, runCli, runJson } from './support/cli.js';
import { detailsOf } from '../core/details.js';

/** Thresholds, repeats, compare and throughput, end to end on the built-in servers. */
const outDir = outRoot();
const small = ['--transport', 'ws', '--subscribers', '3', '--bursts', '10'];

describe('--threshold', () => {
  it('writes everything, prints each rule with its value, and exits 3 when one fails', async () => {
    const dir = outDir('thresholds');
    const { code, stdout, stderr } = await runCli(['burst', ...small, '--threshold', 'p99<10s', '--threshold', 'lost==0', '--threshold', 'ws:p50<1us', '--out', dir]);
    expect(code, stderr).toBe(3);
    expect(stdout).toMatch(/\| p99<10s +\| +ws \| +[\d.]+ ms \| +pass \|/);
    expect(stdout).toMatch(/\| ws:p50<1us +\| +ws \| +[\d.]+ ms \| +FAIL \|/);
    expect(stdout).toContain('1 of 3 thresholds FAILED.');
    const folder = onlyRunFolder(dir);
    expect(JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')).state).toBe('completed');
    expect(JSON.parse(readFileSync(join(folder, 'thresholds.json'), 'utf8'))).toMatchObject({ passed: false });
    expect(readFileSync(join(folder, 'thresholds.xml'), 'utf8')).toContain('failures="1"');
    const passing = await runCli(['burst', ...small, '--threshold', 'lost==0', '--out', outDir('thresholds-pass')]);
    expect(passing.code, passing.stderr).toBe(0);
    const bad = await runCli(['burst', ...small, '--threshold', 'p99<<1s', '--out', outDir('thresholds-bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--threshold <expression>'");
  }, 90_000);
});

describe('--repeat and rtbench compare', () => {
  it('gates a server slowed on purpose, passes a run against itself, and refuses a different configuration', async () => {
    // 120 sends a repeat, so one stall of the generator does not make its send-lag p99 (and the
    // repeat is not left out as saturated); six repeats, so one that is still leaves the five needed.
    const args = ['burst', '--transport', 'all', '--subscribers', '3', '--bursts', '40', '--gap', '5ms', '--pause', '20ms', '--repeat', '6'];
    const base = await runJson([...args, '--out', outDir('base')]);
    // Interleaved: ws, sse, long-polling, stomp, ws, ... each repeat with a run id of its own.
    expect(base.transports.map((t) => `${t.transport}#${t.repeat}`).slice(0, 5)).toEqual(['ws#1', 'sse#1', 'long-polling#1', 'stomp#1', 'ws#2']);
    expect(new Set(base.transports.map((t) => t.runId)).size).toBe(6);
    await runJson([...args, '--server-delay', '30ms', '--out', outDir('slow')]);
    // On a machine that also runs the rest of the suite a repeat can saturate the generator: those are
    // left out (and named), not silently used.
    const slowed = await runCli(['compare', outDir('base'), outDir('slow')]);
    expect(slowed.code, slowed.stderr).toBe(4);
    // 30 ms added to every delivery: a regression on every transport with five clean repeats a side.
    // Every transport's p50 regressed, unless too few of its repeats were clean to call it (named).
    for (const transport of ['ws', 'sse', 'long-polling', 'stomp']) {
      const row = new RegExp(`^\\| ${transport} +\\| perMessage\\.p50 \\|.*\\| +(REGRESSION|inconclusive) \\|$`, 'm').exec(slowed.stdout);
      expect(row?.[1], `${transport}\n${slowed.stdout}`).toBeDefined();
      if (row?.[1] === 'inconclusive') expect(slowed.stdout).toMatch(new RegExp(`- ${transport} perMessage\\.p50: inconclusive: fewer than 5 runs`));
    }
    expect(slowed.stdout).toMatch(/\| [\w-]+ +\| perMessage\.p50 \|.*\| +REGRESSION \|/);
    expect(slowed.stdout).toContain('REGRESSION.');
    const same = await runCli(['compare', outDir('base'), outDir('base'), '--format', 'junit']);
    expect(same.stdout).toContain('failures="0"');
    // A run against itself never regresses. It passes, unless a transport kept fewer than five
    // repeats whose generator was not saturated: then, and only then, it is inconclusive (5).
    const skipped = [...same.stdout.matchAll(/<skipped message="([^"]*)"/g)].map((m) => m[1]!);
    expect(same.code, same.stdout).toBe(skipped.length === 0 ? 0 : 5);
    for (const reason of skipped) expect(reason).toMatch(/fewer than 5 runs on a side .*left out, generator saturated/);
    const other = await runJson(['burst', '--transport', 'ws', '--subscribers', '4', '--bursts', '40', '--gap', '5ms', '--pause', '20ms', '--out', outDir('other')]);
    expect((other as RunSummary).transports).toHaveLength(1);
    const refused = await runCli(['compare', outDir('base'), outDir('other')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('subscribers: 3 in BASE, 4 in NEW');
  }, 360_000);
});

describe('rtbench throughput', () => {
  it("marks a knee at 70% of the generator's own ceiling or more as possibly rtbench's", () => {
    const ceiling = (deliveredPerS: number | null, limitedBy: Ceiling['limitedBy'] = 'generator'): Ceiling => ({ deliveredPerS, offeredPerS: 100, limitedBy, why: '', publishPerS: null, publishKeptPerS: null, publishSteps: [], steps: [] });
    expect(CEILING_SHARE).toBe(0.7);
    expect(kneeAgainstCeiling(6_999, ceiling(10_000))).toBeNull();
    expect(kneeAgainstCeiling(7_000, ceiling(10_000))).toMatch(/possibly rtbench's limit: the rate held delivered 7000\/s, 70% of what rtbench itself read against the null server \(10000\/s\)/);
    expect(kneeAgainstCeiling(9_000, ceiling(10_000, 'null server'))).toContain('10000/s or more');
    expect(kneeAgainstCeiling(null, ceiling(10_000))).toBeNull();
    expect(kneeAgainstCeiling(5_000, null)).toBeNull();
    expect(kneeAgainstCeiling(5_000, ceiling(null))).toBeNull();
  });

  it('raises the rate until a step breaks, and says what broke it', async () => {
    const summary = await runJson([
      'throughput', '--transport', 'ws', '--subscribers', '40', '--rooms', '4', '--rates', '20,200,2000,20000', '--step', '1s', '--slo', 'p99<50ms', '--out', outDir('throughput'),
    ]);
    const [result] = summary.transports;
    const details = detailsOf(result!, 'throughput')!;
    expect(details.steps.length).toBeGreaterThanOrEqual(2);
    // A rate is tried a second time only after a first attempt that only the generator failed.
    details.steps.forEach((step, index) => {
      if (step.attempt === 1) return;
      expect(step.attempt).toBe(2);
      expect(details.steps[index - 1]).toMatchObject({ offeredPerS: step.offeredPerS, attempt: 1, passed: false, generator: { saturated: true } });
    });
    const first = details.steps.filter((s) => s.offeredPerS === 20).at(-1)!;
    expect(first.passed).toBe(true);
    // 20 messages/s to rooms of 10 subscribers: 200 deliveries a second (a light first step: at a
    // fan-out of 50 a worker of this 2-core machine already lags, and the step is rightly failed).
    expect(first.deliveredPerS).toBeGreaterThan(150);
    expect(first.deliveredPerS).toBeLessThan(250);
    // This machine cannot publish 20,000 messages/s over HTTP within 50 ms: a knee, with its cause.
    expect(details.stoppedAt).not.toBeNull();
    expect(details.stoppedAt!.causes.length).toBeGreaterThan(0);
    expect(details.stoppedAt!.causes.join(' ')).toMatch(/lost|SLO|generator|server|publishes failed/);
    expect(details.sustainedRatePerS).toBe(details.steps.filter((s) => s.passed).at(-1)?.offeredPerS ?? null);
    expect(details.verdict).toContain(`${details.stoppedAt!.rate}/s failed`);
    // Then rtbench's own ceiling with the same subscribers against the null server: rates doubled
    // until the generator was flagged or something was lost, and publishing alone.
    const ceiling = detailsOf(result!, 'throughput')!.ceiling!;
    expect(ceiling.steps.length).toBeGreaterThanOrEqual(1);
    expect(ceiling.steps[0]!.offeredPerS).toBe(20);
    expect(['generator', 'null server', 'rates']).toContain(ceiling.limitedBy);
    const heldSteps = ceiling.steps.filter((s) => s.held);
    expect(ceiling.deliveredPerS).toBe(heldSteps.at(-1)?.deliveredPerS ?? null);
    // 40 subscribers in 4 rooms: each message reaches 10.
    for (const step of heldSteps) expect(Math.abs(step.deliveredPerS - step.offeredPerS * 10)).toBeLessThanOrEqual(step.offeredPerS * 10 * 0.1 + 10);
    // Stopped by the first rate not held (then one step between it and the last held); held steps have no cause.
    if (ceiling.limitedBy !== 'rates') expect(ceiling.steps.some((s) => !s.held && s.causes.length > 0)).toBe(true);
    for (const step of ceiling.steps) expect(step.held).toBe(step.causes.length === 0);
    expect(ceiling.publishSteps.length).toBeGreaterThanOrEqual(1);
    // The highest rate before the first not held on schedule (2 ms), and before the first not kept
    // (5 ms), a rate retried judged by its retry (the rule itself: test/publish-ceiling.test.ts).
    expect(ceiling.publishPerS).toBe(highestPublishRate(ceiling.publishSteps, (s) => s.held));
    expect(ceiling.publishKeptPerS).toBe(highestPublishRate(ceiling.publishSteps, (s) => s.kept));
    // It goes on until a rate is not kept within the saturation limit (or the last rate), a first try
    // not held being tried again.
    expect(ceiling.publishSteps.slice(0, -1).every((s, i) => s.kept || (!s.retry && ceiling.publishSteps[i + 1]?.retry === true))).toBe(true);
  }, 180_000);

  it('runs a rate given twice twice, the first as a warm-up step, and calls every rate held when both pass', async () => {
    const summary = await runJson(['throughput', '--transport', 'ws', '--subscribers', '10', '--rooms', '1', '--rates', '5,5', '--step', '1s', '--no-ceiling', '--out', outDir('throughput-twice')]);
    const details = detailsOf(summary.transports[0]!, 'throughput')!;
    // On a loaded machine a step can find the generator saturated; it is then run again (attempt 2)
    // before the rate is judged, so only such a step may stand between the two that held.
    const held = details.steps.filter((s) => s.passed);
    const retried = details.steps.filter((s) => !s.passed);
    expect(held.map((s) => [s.offeredPerS, s.passed])).toEqual([[5, true], [5, true]]);
    for (const s of retried) {
      expect(s.attempt).toBe(1);
      expect(s.causes.some((cause) => cause.startsWith('the generator could not offer or read this rate')), s.causes.join('; ')).toBe(true);
      expect(details.steps.find((next) => next.step === s.step + 1)).toMatchObject({ offeredPerS: s.offeredPerS, attempt: 2 });
    }
    expect(details.steps.map((s) => s.step)).toEqual(details.steps.map((_, i) => i + 1));
    expect(details.verdict).toContain('every rate held');
    // Each step's seconds are tagged with their own step, which the benchmark reads the second one by.
    expect(new Set([...summary.transports[0]!.samples].map((row) => row.step).filter((step) => step !== null))).toEqual(new Set(details.steps.map((s) => s.step)));
  }, 60_000);
});

describe('docs/ci.md', () => {
  it('calls only commands rtbench accepts (each scenario checked with --dry-run)', async () => {
    const text = readFileSync(join(packageRoot, 'docs', 'ci.md'), 'utf8');
    const commands = [...text.matchAll(/npx rtbench ((?:burst|ramp|soak|faults|throughput) [^\n]+?)(?: --out \S+)?(?:\n|$)/g)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(4);
    for (const command of commands) {
      const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).filter((a) => a !== '||' && a !== 'true');
      const { code, stdout, stderr } = await runCli([...args, '--dry-run']);
      expect(code, `${command}: ${stderr}`).toBe(0);
      expect(stdout).toContain('would measure');
    }
    expect(existsSync(join(packageRoot, 'docs', 'ci.md'))).toBe(true);
    expect(text).toMatch(/npx rtbench compare last-good\/burst nightly\/burst --fail-on 'perMessage\.p99:\+15%' --format md/);
    expect(text).toMatch(/npx rtbench report nightly\/burst nightly\/ramp nightly\/throughput nightly\/soak --require 'p99<200ms' --require 'lost==0' --out nightly\/report/);
    // compare and report read runs that do not exist here: every option they are given must be one they take.
    for (const name of ['compare', 'report']) {
      const line = new RegExp(`npx rtbench ${name} ([^\n>]+)`).exec(text)![1]!;
      const help = (await runCli([name, '--help'])).stdout;
      for (const flag of line.match(/--[a-z-]+/g) ?? []) expect(help, `${name} ${flag}`).toContain(`${flag} `);
    }
  });
});
