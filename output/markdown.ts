import type { TableSection } from '../core/sections.js';
import type { RunSummary } from '../core/result.js';
import { renderSections } from './sections.js';

function gib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024 / 1024)} GiB`;
}

/** summary.md: what was run, where, and the tables, ready to paste into a decision write-up. */
export function summaryMarkdown(summary: RunSummary, sections: readonly TableSection[]): string {
  const env = summary.environment;
  const first = summary.transports[0];
  const network = first
    ? Number(first.config.delay) > 0
      ? `${first.config.delay} ms one-way${Number(first.config.jitter) > 0 ? ` ±${first.config.jitter} ms` : ''} (${first.config.delayMode} mode)`
      : 'none (loopback)'
    : '-';
  return [
    `# rtbench ${summary.scenario}: ${summary.state}`,
    '',
    `- Run ${summary.runId}, ${summary.startedAt} to ${summary.finishedAt}`,
    `- Command: \`${summary.command.join(' ')}\``,
    `- Server: ${first?.server ?? '-'} (profile ${String(first?.config.profile ?? 'reference')}); added network delay: ${network}`,
    ...(first?.config.insecure === true ? ['- TLS: no certificate was verified (--insecure)'] : first?.config.ca ? [`- TLS: certificates verified against the system's authorities and ${String(first.config.ca)}`] : []),
    `- Machine: ${env.cpuModel}, ${env.cores} cores, ${gib(env.memoryBytes)}, ${env.os}, Node ${env.node}`,
    `- rtbench ${env.rtbenchVersion}, commit ${env.gitCommit ?? 'unknown'}`,
    '',
    '```',
    renderSections(sections),
    '```',
    '',
  ].join('\n');
}
