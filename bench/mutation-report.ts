/**
 * After `stryker run` (npm run mutation): each mutated file's score from reports/mutation/mutation.json,
 * written as a dated document under docs/measurements/ (command, machine, commit), and the survivors
 * listed by line so the next test to write is plain. Exits 1 when any file scores below 80%.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { documentHeader, indexMeasurements, measurementFolder } from './measurements.js';

const BREAK_PCT = 80;
const REPORT = 'reports/mutation/mutation.json';

interface Mutant {
  readonly status: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly location: { readonly start: { readonly line: number } };
}

interface FileScore {
  readonly file: string;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly timeout: number;
  readonly scorePct: number;
  readonly survivors: readonly Mutant[];
}

/** Stryker's mutation score: killed and timed-out mutants over every mutant that ran or had no test. */
export function fileScore(file: string, mutants: readonly Mutant[]): FileScore {
  const count = (status: string): number => mutants.filter((m) => m.status === status).length;
  const [killed, survived, noCoverage, timeout] = [count('Killed'), count('Survived'), count('NoCoverage'), count('Timeout')];
  const valid = killed + survived + noCoverage + timeout;
  return { file, killed, survived, noCoverage, timeout, scorePct: valid === 0 ? 100 : ((killed + timeout) / valid) * 100, survivors: mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage') };
}

async function main(): Promise<void> {
  const report = JSON.parse(readFileSync(REPORT, 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
  const scores = Object.entries(report.files)
    .map(([file, { mutants }]) => fileScore(file, mutants))
    .sort((a, b) => a.file.localeCompare(b.file));
  const all = fileScore('total', Object.values(report.files).flatMap((f) => f.mutants));
  const failing = scores.filter((s) => s.scorePct < BREAK_PCT);
  const document = await measurementFolder('mutation');
  const lines = [
    // A run over part of the targets (stryker run --mutate ...) says so: its command is given as the argument.
    ...documentHeader('Mutation score', document.started, process.argv[2] ?? '`npm run mutation` (StrykerJS, the targets in stryker.config.mjs, the tests in vitest.mutation.config.ts)'),
    `Each file must score at least ${BREAK_PCT}%: ${failing.length === 0 ? 'every file does.' : `${failing.length} file(s) do not: ${failing.map((s) => s.file).join(', ')}.`}`,
    '',
    '| File | Score | Killed | Timed out | Survived | No test ran it |',
    '|---|---:|---:|---:|---:|---:|',
    ...[...scores, all].map((s) => `| ${s.file === 'total' ? '**total**' : s.file} | ${s.scorePct.toFixed(1)}% | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.noCoverage} |`),
    '',
    '## Survivors',
    '',
    'What no test noticed, by file and line (the mutator, and what it wrote).',
    '',
    ...scores.flatMap((s) => (s.survivors.length === 0 ? [] : [`- ${s.file}: ${s.survivors.map((m) => `${m.location.start.line} ${m.mutatorName}${m.replacement ? ` \`${m.replacement.replace(/\s+/g, ' ').slice(0, 40)}\`` : ''}`).join('; ')}`])),
    '',
  ];
  await writeFile(join(document.folder, 'report.md'), lines.join('\n'));
  await indexMeasurements(document.root);
  process.stdout.write(`mutation: ${all.scorePct.toFixed(1)}% in total; ${failing.length === 0 ? `every file at least ${BREAK_PCT}%` : `below ${BREAK_PCT}%: ${failing.map((s) => `${s.file} ${s.scorePct.toFixed(1)}%`).join(', ')}`}; ${join(document.folder, 'report.md')}\n`);
  if (failing.length > 0) process.exitCode = 1;
}

await main();
