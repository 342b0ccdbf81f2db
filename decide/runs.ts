import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { join, resolve } from 'node:path';
import { usageError } from '../core/errors.js';
import type { ScenarioName } from '../core/details.js';
import { summarySchemaPath } from '../core/entry-points.js';
import { READABLE_SCHEMA_VERSIONS, type RunSummary, SCHEMA_ID, SCHEMA_VERSION } from '../core/result.js';

/** A run as read back from disk: its summary and the folder it came from (every number links to it). */
export interface LoadedRun {
  readonly folder: string;
  readonly summary: RunSummary;
}

function read(folder: string): LoadedRun {
  const file = join(folder, 'summary.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw usageError('run folder', folder, `a folder with a readable summary.json (${(error as Error).message})`);
  }
  return { folder, summary: checkedSummary(raw, folder) };
}

/** What each scenario's details must hold to be read (core/details.ts), beyond `scenario` itself. */
const DETAILS_ARRAYS: Readonly<Record<ScenarioName, readonly string[]>> = {
  burst: [],
  ramp: ['steps'],
  soak: ['intervals'],
  faults: ['faults'],
  throughput: ['steps'],
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The one place a summary.json becomes a RunSummary: its schema and version, and each transport's
 * scenario and details checked against the types the readers rely on (core/details.ts). Details
 * written before they named their scenario (schema versions 1 and 2) are given the transport's.
 */
export function checkedSummary(raw: unknown, folder: string): RunSummary {
  const refuse = (what: string): never => {
    throw usageError('run folder', folder, what);
  };
  if (!isObject(raw) || raw.schema !== SCHEMA_ID) return refuse(`a summary.json of schema ${SCHEMA_ID}`);
  if (typeof raw.schemaVersion !== 'number' || !READABLE_SCHEMA_VERSIONS.includes(raw.schemaVersion)) {
    return refuse(`a summary.json of schema version ${READABLE_SCHEMA_VERSIONS.join(' or ')} (this one is ${String(raw.schemaVersion)}: written by another rtbench; read it with that one)`);
  }
  if (!Array.isArray(raw.transports)) return refuse('a summary.json with a transports list');
  const transports = raw.transports.map((result: unknown, index) => {
    if (!isObject(result) || typeof result.transport !== 'string') return refuse(`a summary.json whose transports[${index}] names its transport`);
    const scenario = result.scenario;
    if (typeof scenario !== 'string' || !Object.hasOwn(DETAILS_ARRAYS, scenario)) return refuse(`a summary.json whose transports[${index}].scenario is one of ${Object.keys(DETAILS_ARRAYS).join(', ')}`);
    const details = result.details;
    if (details === null || details === undefined) return { ...result, details: null };
    if (!isObject(details)) return refuse(`a summary.json whose transports[${index}].details is an object or null`);
    if (details.scenario !== undefined && details.scenario !== scenario) return refuse(`a summary.json whose transports[${index}].details are of its scenario (${scenario}, not ${String(details.scenario)})`);
    for (const key of DETAILS_ARRAYS[scenario as ScenarioName]) {
      if (!Array.isArray(details[key])) return refuse(`a summary.json whose transports[${index}].details.${key} is a list`);
    }
    return { ...result, details: { ...details, scenario } };
  });
  const summary = { ...raw, transports };
  // This version is checked whole against the published schema; older ones as far as above.
  if (raw.schemaVersion === SCHEMA_VERSION) {
    const validate = summaryValidator();
    if (!validate(summary)) {
      const where = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim());
      return refuse(`a summary.json that fits docs/summary.schema.json (${where.join('; ')})`);
    }
  }
  return summary as unknown as RunSummary;
}

let validator: ValidateFunction | null = null;
function summaryValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: false, strict: false }).compile(JSON.parse(readFileSync(summarySchemaPath(), 'utf8')) as object);
  return validator;
}

/**
 * Run folders named on the command line: each is a run folder (with summary.json), or a folder of
 * run folders (a set of repeats, a benchmark's output), read in name order.
 */
export function loadRuns(paths: readonly string[]): LoadedRun[] {
  const runs: LoadedRun[] = [];
  for (const given of paths) {
    const folder = resolve(given);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw usageError('run folder', given, 'an existing folder written by rtbench');
    if (existsSync(join(folder, 'summary.json'))) {
      runs.push(read(folder));
      continue;
    }
    const inner = readdirSync(folder)
      .map((name) => join(folder, name))
      .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'summary.json')))
      .sort();
    if (inner.length === 0) throw usageError('run folder', given, 'a run folder (with summary.json) or a folder of run folders');
    runs.push(...inner.map(read));
  }
  return runs;
}
