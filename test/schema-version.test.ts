import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../core/result.js';
import { loadRuns } from '../decide/runs.js';

/** A run folder whose summary.json has this schema version and nothing else of note. */
function folderOf(version: number): string {
  const folder = join(mkdtempSync(join(tmpdir(), 'rtbench-schema-')), `v${version}`);
  mkdirSync(folder);
  writeFileSync(join(folder, 'summary.json'), JSON.stringify({ schema: 'rtbench.summary', schemaVersion: version, runId: 'r', scenario: 'burst', state: 'completed', transports: [] }));
  return folder;
}

describe('summary.json versions', () => {
  it('reads this version and the one before it, and refuses another, naming it', () => {
    expect(SCHEMA_VERSION).toBe(2);
    expect(loadRuns([folderOf(1)])[0]?.summary.schemaVersion).toBe(1);
    expect(loadRuns([folderOf(2)])[0]?.summary.schemaVersion).toBe(2);
    expect(() => loadRuns([folderOf(3)])).toThrow(/schema version 1 or 2 \(this one is 3: written by another rtbench/);
  });
});
