import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detailsOf } from '../core/details.js';
import { SCHEMA_VERSION } from '../core/result.js';
import { loadRuns } from '../decide/runs.js';
import { packageRoot } from '../core/paths.js';

/** A real burst's summary.json (a fixture, schema version 1). */
const BURST = JSON.parse(readFileSync(join(packageRoot, 'test', 'fixtures', 'runs', '2026-11-25T17-21-35Z-burst', 'summary.json'), 'utf8')) as { transports: Array<Record<string, unknown>> };

function folderWith(summary: unknown): string {
  const folder = join(mkdtempSync(join(tmpdir(), 'rtbench-schema-')), 'run');
  mkdirSync(folder);
  writeFileSync(join(folder, 'summary.json'), JSON.stringify(summary));
  return folder;
}

/** A run folder whose summary.json has this schema version and these transport results (the rest of a real burst's). */
function folderOf(version: number, transports?: unknown[]): string {
  const real = BURST.transports.map((t) => ({ ...t, details: version >= 3 ? { scenario: 'burst' } : null }));
  return folderWith({ ...BURST, schemaVersion: version, transports: transports ?? real });
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

  it('checks a summary of this version whole against docs/summary.schema.json, naming what does not fit', () => {
    const good: Array<Record<string, unknown>> = BURST.transports.map((t) => ({ ...t, details: { scenario: 'burst' } }));
    expect(loadRuns([folderOf(3, good)])[0]!.summary.transports).toHaveLength(good.length);
    const { latencyUs: _, ...withoutLatency } = good[0]!;
    expect(() => loadRuns([folderOf(3, [withoutLatency])])).toThrow(/fits docs\/summary\.schema\.json \(\/transports\/0 must have required property 'latencyUs'/);
    const stringCount = { ...good[0]!, messages: { ...(good[0]!.messages as object), lost: 'none' } };
    expect(() => loadRuns([folderOf(3, [stringCount])])).toThrow(/\/transports\/0\/messages\/lost must be number/);
  });

  it('publishes the schema generated from the types: docs/summary.schema.json is what `npm run schema` writes today', () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'rtbench-schema-')), 'schema.json');
    const generator = join(packageRoot, 'node_modules', 'ts-json-schema-generator', 'bin', 'ts-json-schema-generator.js');
    execFileSync(process.execPath, [generator, '--path', 'core/result.ts', '--type', 'SummaryFile', '--tsconfig', 'tsconfig.json', '--no-type-check', '-o', fresh], { cwd: packageRoot, stdio: 'pipe' });
    expect(JSON.parse(readFileSync(join(packageRoot, 'docs', 'summary.schema.json'), 'utf8')), 'run npm run schema and commit docs/summary.schema.json').toEqual(JSON.parse(readFileSync(fresh, 'utf8')));
  }, 60_000);
});
