import { defineConfig } from 'vitest/config';

/**
 * The unit tests of the measurement core, for mutation testing (`npm run mutation`): only tests that
 * run the mutated sources in-process (end-to-end tests start the built dist/, which Stryker does not
 * mutate, so they could not kill a mutant anyway).
 */
export default defineConfig({
  test: {
    include: [
      'test/recorder.test.ts', 'test/marker.test.ts', 'test/histogram.test.ts', 'test/publisher.test.ts', 'test/proxy.test.ts',
      'test/saturation.test.ts', 'test/sampler.test.ts', 'test/ramp.test.ts', 'test/aggregate.test.ts', 'test/reconnect.test.ts',
      'test/stats.test.ts', 'test/compare.test.ts', 'test/thresholds.test.ts',
      // The decoders, the own-delay meter, the faults tables and the agents' clock.
      'test/decoders.property.test.ts', 'test/sse-client.test.ts', 'test/ws-connection.test.ts', 'test/stomp.test.ts', 'test/stomp-client.test.ts',
      'test/keep-alive-http.test.ts', 'test/long-polling-client.test.ts', 'test/hostile.test.ts', 'test/own-delay-meter.test.ts', 'test/report.test.ts',
      'test/clock-offset.test.ts', 'test/faults-tables.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
