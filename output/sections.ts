import type { TableSection } from '../core/sections.js';
import { renderTable } from './format.js';

/** How wide a terminal rtbench writes for: wider tables are cut into parts there (summary.md keeps them whole). */
export const TERMINAL_COLUMNS = 120;

/**
 * A header that reads as the continuation of the one before it ('P99' after 'Burst completion
 * P50', 'max %' after 'Server CPU avg %'): a table is never cut between the two.
 */
const CONTINUES = /^(?:P\d+(?:\.\d+)?|Max|max)\b/;

/**
 * The table's columns in parts no wider than `maxWidth` each, every part led by the first column
 * (the method), cut only where a new group of columns starts. A group wider than the limit alone
 * stays whole: too wide beats unreadable.
 */
export function tableParts(headers: readonly string[], rows: readonly (readonly string[])[], maxWidth: number): string[] {
  const whole = renderTable(headers, rows);
  if (widthOf(whole) <= maxWidth || headers.length <= 2) return [whole];
  const groups: number[][] = [];
  for (let column = 1; column < headers.length; column++) {
    if (groups.length === 0 || !CONTINUES.test(headers[column] ?? '')) groups.push([]);
    groups.at(-1)?.push(column);
  }
  const render = (columns: readonly number[]): string => {
    const pick = [0, ...columns];
    return renderTable(pick.map((c) => headers[c] ?? ''), rows.map((row) => pick.map((c) => row[c] ?? '')));
  };
  const parts: string[] = [];
  let current: number[] = [];
  for (const group of groups) {
    const grown = [...current, ...group];
    if (current.length > 0 && widthOf(render(grown)) > maxWidth) {
      parts.push(render(current));
      current = [...group];
    } else current = grown;
  }
  parts.push(render(current));
  return parts;
}

function widthOf(table: string): number {
  return Math.max(...table.split('\n').map((line) => [...line].length));
}

/**
 * A scenario's tables as text: each section's title, its table, then its lines (bulleted). With
 * `maxWidth` (the terminal), a wider table is printed in parts, one under the other.
 */
export function renderSections(sections: readonly TableSection[], maxWidth = Number.POSITIVE_INFINITY): string {
  const parts: string[] = [];
  for (const section of sections) {
    if (parts.length > 0) parts.push('');
    if (section.title) parts.push(section.title);
    if (section.headers && section.rows) parts.push(tableParts(section.headers, section.rows, maxWidth).join('\n\n'));
    for (const line of section.lines ?? []) parts.push(`- ${line}`);
  }
  return parts.join('\n');
}
