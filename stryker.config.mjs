// Mutation testing of the measurement core: `npm run mutation`. A surviving mutant is a change to
// the code that no test notices; the score is the share of mutants the tests kill.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: [],
  coverageAnalysis: 'perTest',
  mutate: [
    'bench/recorder.ts',
    'bench/marker.ts',
    'bench/histogram.ts',
    'bench/aggregate.ts',
    'bench/worker/pool.ts:158-194',
    'bench/publisher.ts',
    'bench/proxy.ts',
    'bench/result.ts:68-101',
    'bench/sampler.ts',
    'bench/loop-delay.ts',
    'scenarios/burst.ts:33-43',
    'scenarios/ramp-step.ts:25-35',
  ],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 80, break: 80 },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
};
