import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport, reportHtml, reportMarkdown } from '../decide/document.js';
import { keyDecision, parseRequirement } from '../decide/decision.js';
import { result } from './fixtures/runs.js';
import { cpuMsPer1000 } from '../decide/study.js';
import { packageRoot } from '../core/paths.js';
import { loadRuns } from '../decide/runs.js';
import { chromiumMissing, openOffline } from './support/browser.js';
import { outRoot, runCli } from './support/cli.js';

/**
 * The decision report from fixture runs (real runs of this machine, kept as JSON): its tables,
 * charts and links, then the HTML in a real browser with the network off.
 */
const FIXTURES = join(packageRoot, 'test', 'fixtures', 'runs');
const outDir = outRoot();
const runs = () => loadRuns([FIXTURES]);
const chromium = chromiumMissing();
if (chromium) console.warn(`skipping the browser test: ${chromium}`);

describe('the suggested Key Decision', () => {
  const rules = parseRequirement('p99<200ms', parseRequirement('direction=server-push', []));
  // Burst p99s (µs): WebSocket 9 ms, SSE 10 ms, long polling 5 ms (but it polls), STOMP 30 ms.
  const bursts = [result('ws', {}, 4500), result('sse', {}, 5000), result('long-polling', {}, 2500), result('stomp', {}, 15_000)];

  it('suggests the lowest p99 among the transports that meet every rule, with each reason', () => {
    const decision = keyDecision(bursts, bursts, rules, 'run r1');
    expect(decision.chosen).toBe('ws');
    expect(decision.table.rows.find((r) => r[0] === 'Long Polling')).toEqual(['Long Polling', 'no', '5.00', 'direction=server-push: no (poll); p99<200ms: yes (5.00 ms in burst)']);
    // A lead of 10% in one run is called a tie one run cannot break; a lead of 3x is not.
    expect(decision.summary).toMatch(/runner-up, SSE \(10\.00 ms against 9\.00 ms\), is within 20%/);
    const clear = keyDecision(bursts, bursts, parseRequirement('p99<200ms', []), 'run r1');
    expect(clear.chosen).toBe('long-polling');
    expect(clear.summary).not.toContain('runner-up');
  });

  it('judges a rule on every steady-state run, and shows the worst value', () => {
    const soak = result('ws', { scenario: 'soak' }, 150_000);
    const decision = keyDecision([...bursts, soak], bursts, parseRequirement('p99<200ms', []), 'run r1');
    // The soak's 300 ms p99 breaks the rule for WebSocket; SSE's only run holds it.
    expect(decision.table.rows.find((r) => r[0] === 'WebSocket')?.[3]).toBe('p99<200ms: NO (300.0 ms in soak)');
    expect(decision.table.rows.find((r) => r[0] === 'SSE')?.[3]).toBe('p99<200ms: yes (10.00 ms in burst)');
    const held = keyDecision([...bursts, result('ws', { scenario: 'soak' }, 60_000)], bursts, parseRequirement('p99<200ms', []), 'run r1');
    expect(held.table.rows.find((r) => r[0] === 'WebSocket')?.[3]).toBe('p99<200ms: yes (120.0 ms in soak)');
  });
});

describe('rtbench report (writers)', () => {
  it('fills the study tables from every kind of run, citing each one', () => {
    const loaded = runs();
    expect(new Set(loaded.map((r) => r.summary.scenario))).toEqual(new Set(['burst', 'ramp', 'soak', 'faults', 'throughput']));
    const document = buildReport(loaded, join(FIXTURES, '..'), { requirements: parseRequirement('direction=server-push', parseRequirement('lost==0', [])), pollIntervalMs: 2000, command: 'rtbench report' });
    const titles = document.tables.map((t) => t.title.split(':')[0]);
    expect(titles).toEqual(['4-1 Resources', '4-2 Performance', '4-3 Operations', '4-3 Operations', 'Key Decision (suggested, computed from the --require rules below and the measured runs)', 'Impact']);
    const md = reportMarkdown(document);
    // Every row of the measured tables cites a run folder's summary.md, and the run is listed.
    for (const table of document.tables.slice(0, 2)) for (const row of table.rows) expect(row.at(-1)).toMatch(/\[r\d+\]\(runs\/[^)]+\/summary\.md\)/);
    expect(md).toMatch(/- r1: \w+, `rtbench /);
    expect(md).toContain('commit ');
    expect(md).toContain('Derived, not measured');
    expect(md).toContain('Suggested: ');
    for (const chart of document.charts) expect(md).toContain(`(${chart.name}.svg)`);
    expect(document.charts.map((c) => c.name)).toEqual(expect.arrayContaining(['latency-spectrum', 'throughput', 'faults']));
    expect(document.charts.some((c) => c.name.startsWith('ramp-'))).toBe(true);
    expect(document.charts.some((c) => c.name.startsWith('soak-'))).toBe(true);
    for (const chart of document.charts) {
      expect(chart.svg.startsWith('<svg')).toBe(true);
      expect(chart.svg).toContain('<path');
    }
  });

  it('renders the fixture runs to the same Markdown, HTML and SVG as the golden files', () => {
    // Fixed date and line counts: the output must then depend on the runs alone.
    const options = { requirements: parseRequirement('p99<200ms', []), pollIntervalMs: 2000, command: 'rtbench report test/fixtures/runs', generatedAt: new Date('2026-11-25T12:00:00Z'), lineCounter: (file: string) => file.length };
    const document = buildReport(runs(), join(FIXTURES, '..'), options);
    const outputs: Record<string, string> = { 'report.md': reportMarkdown(document), 'report.html': reportHtml(document) };
    for (const chart of document.charts) outputs[`${chart.name}.svg`] = chart.svg;
    // Rendering again gives the same bytes (no clock, no random ids, no state left in ECharts).
    expect(reportHtml(buildReport(runs(), join(FIXTURES, '..'), options))).toBe(outputs['report.html']);
    const golden = join(packageRoot, 'test', 'fixtures', 'golden');
    if (process.env.UPDATE_GOLDEN) {
      mkdirSync(golden, { recursive: true });
      for (const [name, text] of Object.entries(outputs)) writeFileSync(join(golden, name), text);
    }
    expect(readdirSync(golden).sort()).toEqual(Object.keys(outputs).sort());
    for (const [name, text] of Object.entries(outputs)) expect(text, `${name} differs from test/fixtures/golden (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(join(golden, name), 'utf8'));
  });

  it('writes a self-contained page: charts inline, no script, nothing fetched from a network', () => {
    const html = reportHtml(buildReport(runs(), join(FIXTURES, '..'), { requirements: [], pollIntervalMs: 2000, command: 'rtbench report' }));
    expect(html).not.toMatch(/<script|<link |@import|src="http/i);
    expect(html.match(/<figure class="chart"/g)?.length).toBeGreaterThanOrEqual(5);
    expect(html.match(/<svg/g)?.length).toBe(html.match(/<figure class="chart"/g)?.length);
  });

  it('marks what a saturated generator measured', () => {
    const document = buildReport(runs(), join(FIXTURES, '..'), { requirements: [], pollIntervalMs: 2000, command: 'rtbench report' });
    const resources = document.tables[0]!;
    const saturated = resources.rows.filter((row) => row.some((cell) => cell.endsWith('*')));
    if (saturated.length > 0) expect(resources.notes.join(' ')).toContain('`*` the load generator was saturated');
  });

  it('counts CPU per 1,000 deliveries from the measured seconds', () => {
    const [ramp] = runs().filter((r) => r.summary.scenario === 'ramp');
    const result = ramp!.summary.transports[0]!;
    const server = cpuMsPer1000(result, 'server');
    expect(server).toBeGreaterThan(0);
    expect(server).toBeLessThan(1000);
  });

  it('rtbench report writes report.md, report.html and every chart as .svg', async () => {
    const dir = outDir('report');
    const { code, stderr } = await runCli(['report', FIXTURES, '--out', dir, '--require', 'p99<200ms', '--poll-interval', '5s']);
    expect(code, stderr).toBe(0);
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['report.md', 'report.html', 'latency-spectrum.svg', 'faults.svg', 'throughput.svg']));
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('REST polling every 5 s (derived)');
    const bad = await runCli(['report', join(dir, 'nowhere'), '--out', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('an existing folder written by rtbench');
  });
});

describe.skipIf(chromium !== null)('the report in a real browser (Chromium, network off)', () => {
  it('opens with no console error, and every chart has drawn paths; a screenshot is kept', async () => {
    const dir = outDir('browser');
    mkdirSync(dir, { recursive: true });
    const document = buildReport(runs(), dir, { requirements: parseRequirement('p99<200ms', []), pollIntervalMs: 2000, command: 'rtbench report' });
    writeFileSync(join(dir, 'report.html'), reportHtml(document));
    const artefacts = join(packageRoot, '.ci', 'artifacts');
    mkdirSync(artefacts, { recursive: true });
    const seen = await openOffline(join(dir, 'report.html'), join(artefacts, 'report.png'));
    expect(seen.errors).toEqual([]);
    expect(seen.pathsPerChart).toHaveLength(document.charts.length);
    for (const paths of seen.pathsPerChart) expect(paths).toBeGreaterThan(5);
    expect(existsSync(join(artefacts, 'report.png'))).toBe(true);
  }, 60_000);
});
