import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detailsOf } from '../core/details.js';
import { SCHEMA_VERSION } from '../core/result.js';
import { loadRuns } from '../decide/runs.js';

/** A run folder whose summary.json has this schema version and these transport results. */
function folderOf(version: number, transports: unknown[] = []): string {
  const folder = join(mkdtempSync(join(tmpdir(), 'rtbench-schema-')), `v${version}`);
  mkdirSync(folder);
  writeFileSync(join(folder, 'summary.json'), JSON.stringify({ schema: 'rtbench.summary', schemaVersion: version, runId: 'r', scenario: 'burst', state: 'completed', transports }));
  return folder;
}

describe('summary.json versions', () => {
  it('reads this version and the ones before it, and refuses another, naming it', () => {
    expect(SCHEMA_VERSION).toBe(3);
    for (const version of [1, 2, 3]) expect(loadRuns([folderOf(version)])[0]?.summary.schemaVersion).toBe(version);
    expect(() => loadRuns([folderOf(4)])).toThrow(/schema version 1 or 2 or 3 \(this one is 4: written by another rtbench/);
  });

  it("gives details written before they named their scenario the transport's, and refuses details that do not fit it", () => {
    const older = loadRuns([folderOf(2, [{ transport: 'ws', scenario: 'ramp', details: { steps: [], breakingPoint: null, verdict: 'every step passed' } }])])[0]!;
    expect(detailsOf(older.summary.transports[0]!, 'ramp')?.verdict).toBe('every step passed');
    expect(() => loadRuns([folderOf(3, [{ transport: 'ws', scenario: 'ramp', details: { scenario: 'soak', intervals: [] } }])])).toThrow(/details are of its scenario \(ramp, not soak\)/);
    expect(() => loadRuns([folderOf(3, [{ transport: 'ws', scenario: 'soak', details: { scenario: 'soak' } }])])).toThrow(/transports\[0\]\.details\.intervals is a list/);
    expect(() => loadRuns([folderOf(3, [{ transport: 'ws', scenario: 'bursty', details: null }])])).toThrow(/transports\[0\]\.scenario is one of burst, ramp, soak, faults, throughput/);
  });
});
