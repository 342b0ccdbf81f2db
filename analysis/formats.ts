import { renderTable } from '../output/format.js';
import type { Comparison } from './compare.js';
import type { ThresholdVerdict } from './thresholds.js';

/**
 * Threshold verdicts and comparisons in the three forms CI systems read: a Markdown table (job
 * summaries, the terminal), JSON, and JUnit XML (test reports in GitLab, Jenkins, GitHub actions).
 */
export type OutputFormat = 'md' | 'json' | 'junit';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['md', 'json', 'junit'];

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function junit(suite: string, cases: ReadonlyArray<{ classname: string; name: string; failure: string | null; skipped?: string | null }>): string {
  const failures = cases.filter((c) => c.failure !== null).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const lines = cases.map((c) => {
    const open = `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}"`;
    if (c.failure !== null) return `${open}><failure message="${xml(c.failure)}"/></testcase>`;
    if (c.skipped) return `${open}><skipped message="${xml(c.skipped)}"/></testcase>`;
    return `${open}/>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="rtbench" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    ...lines,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function formatThresholds(verdicts: readonly ThresholdVerdict[], format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify({ passed: verdicts.every((v) => v.passed), thresholds: verdicts }, null, 2)}\n`;
  const label = (v: ThresholdVerdict): string => `${v.transport}${v.repeat ? ` #${v.repeat}` : ''}`;
  if (format === 'junit') {
    return junit('rtbench thresholds', verdicts.map((v) => ({ classname: label(v), name: v.threshold, failure: v.passed ? null : `measured ${v.measured}` })));
  }
  const failed = verdicts.filter((v) => !v.passed).length;
  return `${renderTable(['Threshold', 'Transport', 'Measured', 'Verdict'], verdicts.map((v) => [v.threshold, label(v), v.measured, v.passed ? 'pass' : 'FAIL']))}\n${failed === 0 ? 'All thresholds passed.' : `${failed} of ${verdicts.length} thresholds FAILED.`}\n`;
}

function percent(change: number | null): string {
  return change === null ? '-' : `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

export function formatComparison(comparison: Comparison, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(comparison, null, 2)}\n`;
  if (format === 'junit') {
    return junit(
      `rtbench compare (${comparison.scenario})`,
      comparison.rows.map((r) => ({
        classname: r.transport,
        name: r.metric,
        failure: r.verdict === 'REGRESSION' ? `${r.base.median} -> ${r.next.median} (${percent(r.change)}): ${r.why}` : null,
        skipped: r.verdict === 'inconclusive' ? r.why : null,
      })),
    );
  }
  const table = renderTable(
    ['Transport', 'Metric', 'BASE', '', 'NEW', ' ', 'Change', 'p', 'n', 'Verdict'],
    comparison.rows.map((r) => [r.transport, r.metric, r.base.median, r.base.spread, r.next.median, r.next.spread, percent(r.change), r.p === null ? '' : r.p.toFixed(3), `${r.base.n}+${r.next.n}`, r.verdict]),
  );
  const notes = comparison.rows.filter((r) => r.verdict === 'REGRESSION' || r.verdict === 'inconclusive').map((r) => `- ${r.transport} ${r.metric}: ${r.verdict}: ${r.why}`);
  const headline = { pass: 'No regression.', regression: 'REGRESSION.', inconclusive: `Inconclusive: at least ${5} runs on each side are needed to call a latency change (rtbench <scenario> --repeat 5).` }[comparison.outcome];
  return `${table}\n\n${[...notes, headline].join('\n')}\n`;
}
