import type { TableSection } from '../core/sections.js';
import { renderTable } from './format.js';

/** A scenario's tables as text: each section's title, its table, then its lines (bulleted). */
export function renderSections(sections: readonly TableSection[]): string {
  const parts: string[] = [];
  for (const section of sections) {
    if (parts.length > 0) parts.push('');
    if (section.title) parts.push(section.title);
    if (section.headers && section.rows) parts.push(renderTable(section.headers, section.rows));
    for (const line of section.lines ?? []) parts.push(`- ${line}`);
  }
  return parts.join('\n');
}
