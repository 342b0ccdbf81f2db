// Prints "N passed, M failed" from vitest's JSON report. A test file that fails as a whole (it does
// not import, or a hook outside any test throws) has no failed test of its own: it counts as one
// failure, so the line can never say "0 failed" for a run that failed.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.ci/test-results.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.log(`0 passed, 1 failed (no readable test report at ${path}: ${error.message})`);
  process.exit(1);
}
const files = report.testResults ?? [];
const failedFiles = files.filter((file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'));
for (const file of failedFiles) console.log(`failed as a whole: ${file.name}: ${(file.message ?? '').split('\n')[0]}`);
// Tests that need a third-party server (RabbitMQ, nginx + nchan) are skipped where it cannot be
// had; say how many of them ran, so a CI log shows they did.
const thirdParty = files.filter((file) => /third-party\.test\.ts$/.test(file.name)).flatMap((file) => file.assertionResults ?? []);
const ran = thirdParty.filter((test) => test.status === 'passed' || test.status === 'failed').length;
const skipped = thirdParty.length - ran;
console.log(`third-party server tests: ${ran} ran, ${skipped} skipped`);
// In CI every one of them must run: .ci/run installs and starts what they need, so a skip means the
// set-up broke, and a green run without them would not have tested what it claims.
if (skipped > 0) console.log(`failed: ${skipped} third-party server test(s) skipped; .ci/run could not provide their server`);
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + failedFiles.length + (skipped > 0 ? 1 : 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || report.success === false ? 1 : 0);
