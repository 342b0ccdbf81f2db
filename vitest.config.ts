import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ before any test runs: the tests start rtbench from there.
    globalSetup: ['test/global-setup.ts'],
    // Generous limits: these bound a hung test, they are not performance assertions. End-to-end
    // tests that run for longer set their own limit.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The JSON report is what .ci/run counts passed and failed tests from.
    reporters: ['default', 'json'],
    outputFile: { json: '.ci/test-results.json' },
  },
});
