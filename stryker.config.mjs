// Mutation testing of the measurement core: `npm run mutation`. A surviving mutant is a change to
// the code that no test notices; the score is the share of mutants the tests kill.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: [],
  coverageAnalysis: 'perTest',
  mutate: [
    'load/recorder.ts',
    'core/marker.ts',
    'core/histogram.ts',
    'load/aggregate.ts',
    'load/worker/pool.ts:162-198',
    'load/publisher.ts',
    'run/proxy.ts',
    'load/saturation.ts',
    'run/sampler.ts',
    'core/loop-delay.ts',
    'scenarios/burst.ts:33-43',
    'scenarios/ramp-step.ts:25-35',
    // The statistics and rules a CI gate fails on.
    'analysis/stats.ts',
    'analysis/compare.ts',
    'analysis/thresholds.ts',
  ],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 80, break: 80 },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
};
