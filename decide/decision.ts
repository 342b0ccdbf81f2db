import { InvalidArgumentError } from 'commander';
import { type Threshold, holds, parseThreshold } from '../analysis/thresholds.js';
import { formatMetric, metricOf } from '../analysis/metrics.js';
import { median } from '../analysis/stats.js';
import type { TransportResult } from '../core/result.js';
import { TRANSPORTS, TRANSPORT_INFO, type TransportName, transportLabel } from '../core/transports.js';
import { formatMs } from '../output/format.js';
import type { StudyTable } from './study.js';

/**
 * The study left "Key Decision" and "Impact" empty. The report suggests a decision from the user's
 * requirements (`--require`) and the measured runs, with the reasons, and derives the impact against
 * the REST polling the team started from. Both are labelled as what they are: a suggestion computed
 * from rules, and figures derived from a polling interval, not measured.
 */
export type Requirement =
  | { readonly kind: 'threshold'; readonly text: string; readonly threshold: Threshold }
  | { readonly kind: 'direction'; readonly text: string; readonly direction: 'server-push' | 'poll' }
  | { readonly kind: 'resume'; readonly text: string; readonly resume: boolean };

export function parseRequirement(text: string, previous: unknown): Requirement[] {
  const list = (previous as Requirement[] | undefined) ?? [];
  const trimmed = text.trim();
  const direction = /^direction=(server-push|poll)$/.exec(trimmed);
  if (direction) return [...list, { kind: 'direction', text: trimmed, direction: direction[1] as 'server-push' | 'poll' }];
  const resume = /^resume=(yes|no)$/.exec(trimmed);
  if (resume) return [...list, { kind: 'resume', text: trimmed, resume: resume[1] === 'yes' }];
  if (/^\w+=(?!=)/.test(trimmed)) throw new InvalidArgumentError('expected direction=server-push|poll, resume=yes|no, or a threshold such as p99<200ms or lost==0.');
  return [...list, { kind: 'threshold', text: trimmed, threshold: parseThreshold(trimmed) }];
}

/** Steady-state runs: a fault run loses on purpose, so it never counts against a requirement. */
const judged = (results: readonly TransportResult[], transport: string): TransportResult[] => results.filter((r) => r.transport === transport && r.scenario !== 'faults');

interface Judgement {
  readonly transport: TransportName;
  readonly met: boolean;
  readonly reasons: readonly string[];
}

function judge(results: readonly TransportResult[], transport: TransportName, requirements: readonly Requirement[]): Judgement {
  const reasons: string[] = [];
  let met = true;
  for (const requirement of requirements) {
    if (requirement.kind === 'direction') {
      const ok = TRANSPORT_INFO[transport].direction === requirement.direction;
      met &&= ok;
      reasons.push(`${requirement.text}: ${ok ? 'yes' : `no (${TRANSPORT_INFO[transport].direction})`}`);
      continue;
    }
    if (requirement.kind === 'resume') {
      const resumed = judged(results, transport).some((r) => r.config.resume === true);
      const ok = resumed === requirement.resume;
      met &&= ok;
      reasons.push(`${requirement.text}: ${ok ? 'yes' : 'no'}`);
      continue;
    }
    const measured = judged(results, transport).filter((r) => metricOf(r, requirement.threshold.metric).value !== null);
    if (measured.length === 0) {
      met = false;
      reasons.push(`${requirement.text}: not measured`);
      continue;
    }
    // Every run must hold it: the worst run is the one that decides.
    const failing = measured.filter((r) => r.state !== 'completed' || !holds(metricOf(r, requirement.threshold.metric).value as number, requirement.threshold.operator, requirement.threshold.limit));
    // When every run holds, show the one closest to the limit: the largest value under a `<` rule, the
    // smallest over a `>` rule.
    const valueOf = (r: TransportResult): number => metricOf(r, requirement.threshold.metric).value as number;
    const sign = requirement.threshold.operator.startsWith('>') ? -1 : 1;
    const worst = measured.reduce((a, b) => (sign * valueOf(b) > sign * valueOf(a) ? b : a));
    const shown = failing[0] ?? worst;
    met &&= failing.length === 0;
    reasons.push(`${requirement.text}: ${failing.length === 0 ? 'yes' : 'NO'} (${formatMetric(metricOf(shown, requirement.threshold.metric))} in ${shown.scenario}${failing.length > 1 ? `, and ${failing.length - 1} more run(s)` : ''})`);
  }
  return { transport, met, reasons };
}

/** Per-message p99 of a transport in the reference burst run (the median of its repeats). */
function p99Of(bursts: readonly TransportResult[], transport: string): number | null {
  return median(bursts.filter((r) => r.transport === transport).map((r) => r.latencyUs.perMessage.p99).filter((v): v is number => v !== null));
}

/** How close the runner-up may come before the ranking is called a tie one burst run cannot break. */
const CLOSE_CALL = 0.2;

/**
 * A p99 ranking from one run is only as good as its lead: when the runner-up is within 20%, say so,
 * since run-to-run noise on one machine is of that order (see `rtbench compare`'s spread).
 */
function closeCall(ranked: readonly TransportName[], bursts: readonly TransportResult[]): string {
  const [first, second] = ranked;
  if (!first || !second) return '';
  const a = p99Of(bursts, first);
  const b = p99Of(bursts, second);
  if (a === null || b === null || b > a * (1 + CLOSE_CALL)) return '';
  return ` The runner-up, ${transportLabel(second)} (${formatMs(b)} ms against ${formatMs(a)} ms), is within ${CLOSE_CALL * 100}%: one run cannot tell them apart, so repeat the burst (--repeat 5 or more) and check the difference with rtbench compare before citing the ranking.`;
}

export interface Decision {
  readonly table: StudyTable;
  readonly chosen: TransportName | null;
  readonly summary: string;
}

/**
 * `bursts`: the transports' results of one burst run (the latest given), the reference for ranking
 * and for the Impact: burst runs of different configurations (a 50 ms link, none) are never mixed.
 */
export function keyDecision(results: readonly TransportResult[], bursts: readonly TransportResult[], requirements: readonly Requirement[], burstSource: string): Decision {
  const transports = TRANSPORTS.filter((t) => results.some((r) => r.transport === t));
  const judgements = transports.map((t) => judge(results, t, requirements));
  const qualified = judgements.filter((j) => j.met).sort((a, b) => (p99Of(bursts, a.transport) ?? Infinity) - (p99Of(bursts, b.transport) ?? Infinity));
  const chosen = qualified[0]?.transport ?? null;
  const summary =
    requirements.length === 0
      ? 'No --require rules were given: every transport qualifies, ranked by per-message p99 in the burst runs.'
      : chosen === null
        ? 'No transport met every requirement (see the reasons): relax a rule or fix what failed.'
        : `Suggested: ${transportLabel(chosen)}. It meets every requirement${qualified.length > 1 ? `, and has the lowest per-message p99 in ${burstSource} among the ${qualified.length} that do` : ''}.${closeCall(qualified.map((j) => j.transport), bursts)}`;
  return {
    chosen: requirements.length === 0 ? (transports.slice().sort((a, b) => (p99Of(bursts, a) ?? Infinity) - (p99Of(bursts, b) ?? Infinity))[0] ?? null) : chosen,
    summary,
    table: {
      title: 'Key Decision (suggested, computed from the --require rules below and the measured runs)',
      notes: [summary, requirements.length > 0 ? `Rules: ${requirements.map((r) => `\`${r.text}\``).join(', ')}. Thresholds are held by every steady-state run (burst, ramp, soak, throughput) of a transport; fault runs lose on purpose and are not judged.` : ''].filter(Boolean),
      headers: ['Transport', 'Meets every requirement', `Burst p99 (${burstSource})`, 'Reasons'],
      rows: judgements.map((j) => [transportLabel(j.transport), j.met ? (j.transport === chosen ? 'yes (suggested)' : 'yes') : 'no', formatMs(p99Of(bursts, j.transport)), j.reasons.join('; ') || '-']),
    },
  };
}

/**
 * Before and after against REST polling every `pollIntervalMs` (what the study's team had): polling
 * is not measured, its figures follow from the interval; the transport's come from its burst runs.
 */
export function impactTable(bursts: readonly TransportResult[], chosen: TransportName | null, pollIntervalMs: number, burstSource: string): StudyTable | null {
  if (chosen === null) return null;
  const runs = bursts.filter((r) => r.transport === chosen);
  if (runs.length === 0) return null;
  const p50 = median(runs.map((r) => r.latencyUs.perMessage.p50).filter((v): v is number => v !== null));
  const p99 = median(runs.map((r) => r.latencyUs.perMessage.p99).filter((v): v is number => v !== null));
  const rtt = median(runs.map((r) => r.latencyUs.publishRtt.p50).filter((v): v is number => v !== null)) ?? 0;
  const intervalUs = pollIntervalMs * 1000;
  const polls = (60_000 / pollIntervalMs).toFixed(1);
  const idleRequests = chosen === 'long-polling' ? `${(60_000 / 30_000).toFixed(1)} (one poll per 30 s hold)` : chosen === 'stomp' ? '0 (heart-beat frames on the open connection)' : chosen === 'sse' ? '0 (a comment line every 15 s)' : '0';
  return {
    title: `Impact: ${transportLabel(chosen)} against REST polling every ${pollIntervalMs / 1000} s (derived)`,
    notes: [
      `Derived, not measured: a message published at a random moment waits on average half a polling interval, and up to a whole one, before a poll picks it up, plus a request's round trip (the measured publish round trip, ${formatMs(rtt)} ms, stands in for it). ${transportLabel(chosen)}'s figures are its measured burst results in ${burstSource}.`,
    ],
    headers: ['', `REST polling every ${pollIntervalMs / 1000} s (derived)`, `${transportLabel(chosen)} (measured)`],
    rows: [
      ['Send to receipt, median (ms)', formatMs(intervalUs / 2 + rtt), formatMs(p50)],
      ['Send to receipt, p99 (ms)', formatMs(0.99 * intervalUs + rtt), formatMs(p99)],
      ['Requests per client per minute, nothing happening', polls, idleRequests],
      ['Requests per client per message', '0 (the next poll carries it)', chosen === 'long-polling' ? '1 (the answer ends the poll; a new one follows)' : '0 (pushed on the open connection)'],
      ['Connections held per client', '0 between polls (keep-alive aside)', '1, for as long as the client listens'],
    ],
  };
}
