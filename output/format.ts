import type { TransportResult } from '../core/result.js';
import { transportLabel } from '../core/transports.js';

/** A transport's row label: its name, `(no resume)` when it did not resume, and its state unless completed. */
export function methodName(result: Pick<TransportResult, 'transport' | 'config' | 'state' | 'repeat'> & { readonly connections?: TransportResult['connections'] }): string {
  let name = transportLabel(result.transport) + protocolLabel(result);
  if (result.repeat !== undefined) name += ` #${result.repeat}`;
  if (result.config.resume === false) name += ' (no resume)';
  if (result.state !== 'completed') name += ` [${result.state}]`;
  return name;
}

/** With --http2, what the subscribers got: ` over h2`, ` over HTTP/1.1` (a server that did not agree), or the mix. */
function protocolLabel(result: Pick<TransportResult, 'config'> & { readonly connections?: TransportResult['connections'] }): string {
  const protocols = result.connections?.protocols;
  if (result.config.http2 !== true || !protocols) return '';
  const h2 = protocols.h2 ?? 0;
  const total = Object.values(protocols).reduce((n, count) => n + count, 0);
  if (h2 === total) return ' over h2';
  return h2 === 0 ? ' over HTTP/1.1' : ` (h2 ${h2} of ${total})`;
}

/** `a - b` (µs) as signed milliseconds (`+0.79`, `-1.20`); '-' where either is missing. */
export function formatMsDifference(a: number | null, b: number | null): string {
  if (a === null || b === null) return '-';
  return `${a >= b ? '+' : '-'}${formatMs(Math.abs(a - b))}`;
}

/** Whole microseconds shown as milliseconds: two decimals below 100 ms, one above. */
export function formatMs(us: number | null | undefined): string {
  if (us === null || us === undefined) return '-';
  const ms = us / 1000;
  return ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}

/**
 * The generator's own timestamping delay bound with the share of p99 it could explain, e.g.
 * `4.20 (38% of p99)`; `-` for runs made before it was measured.
 */
export function formatOwnDelay(generator: { readonly ownDelayUs?: number | null; readonly ownDelayShareOfP99?: number | null }): string {
  if (generator.ownDelayUs === undefined || generator.ownDelayUs === null) return '-';
  const share = generator.ownDelayShareOfP99;
  return `${formatMs(generator.ownDelayUs)}${share === null || share === undefined ? '' : ` (${Math.round(share * 100)}% of p99)`}`;
}

export function formatPct(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${Math.round(value)}`;
}

export function formatMiB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : (bytes / 1024 / 1024).toFixed(1);
}

export function formatKiB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : (bytes / 1024).toFixed(1);
}

export function formatSignedMiB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : `${bytes >= 0 ? '+' : ''}${(bytes / 1024 / 1024).toFixed(1)}`;
}

/** A Markdown pipe table with padded columns, so it reads the same in a terminal and in a document. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
