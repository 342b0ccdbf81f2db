// Mutation testing of the measurement core: `npm run mutation`. A surviving mutant is a change to
// the code that no test notices; the score is the share of mutants the tests kill. After the run,
// bench/mutation-report.ts writes each file's score into docs/measurements/ and fails below 80%.
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * What is mutated: whole files, or named functions of a file (a range by name, found in the source
 * when the run starts, so it never goes stale as the file changes around it).
 */
export const TARGETS = [
  // Counting, the marker, histograms and their merging.
  'load/recorder.ts',
  'core/marker.ts',
  'core/histogram.ts',
  'load/aggregate.ts',
  'load/worker/pool.ts#mergeStep',
  // Sending on schedule, the link, and knowing when the generator is the bottleneck.
  'load/publisher.ts',
  'run/proxy.ts',
  'load/saturation.ts',
  'run/sampler.ts',
  'core/loop-delay.ts',
  'core/own-delay.ts',
  'scenarios/burst.ts#burstPlan',
  'scenarios/ramp-step.ts#stepPlan',
  // The decoders every subscriber reads a server with.
  'clients/sse-parser.ts',
  'clients/ws-frames.ts',
  'core/stomp-frames.ts',
  'clients/http-body.ts',
  // Faults as reported, and the agents' clocks.
  'scenarios/faults-tables.ts',
  'agents/clock-offset.ts',
  // The statistics and rules a CI gate fails on.
  'analysis/stats.ts',
  'analysis/compare.ts',
  'analysis/thresholds.ts',
];

/** `file#name` as `file:first-last` (the lines of that function), or the file as it is. */
export function resolveTarget(target) {
  const [file, name] = target.split('#');
  if (!name) return file;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  let found = null;
  const visit = (node) => {
    const named = (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name?.getText(source) === name;
    const constant = ts.isVariableDeclaration(node) && node.name.getText(source) === name && node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer));
    if (named || constant) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(source);
  if (!found) throw new Error(`stryker.config.mjs: no function ${name} in ${file}`);
  const line = (position) => source.getLineAndCharacterOfPosition(position).line + 1;
  return `${file}:${line(found.getStart(source))}-${line(found.getEnd())}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: [],
  coverageAnalysis: 'perTest',
  // Mutants of module-level constants run every test once each: hours, for what the tests of the
  // functions that read them already cover.
  ignoreStatic: true,
  mutate: TARGETS.map(resolveTarget),
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // The break is per file, checked after the run (bench/mutation-report.ts): a total hides a weak file.
  thresholds: { high: 90, low: 80, break: null },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
};
