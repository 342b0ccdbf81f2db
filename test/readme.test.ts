import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';
import { SCENARIOS } from '../scenarios/index.js';
import { runCli } from './support/cli.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
const commands = readFileSync(join(packageRoot, 'docs', 'commands.md'), 'utf8');

describe('README', () => {
  it('gives the two commands CI and users rely on, and .ci/run runs the test command', () => {
    expect(readme).toContain('```sh\nnpm install && npx rtbench burst\n```');
    expect(readme).toContain('```sh\nnpm install && npm test\n```');
    expect(readFileSync(join(packageRoot, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });

  it('is a reference a newcomer reads in minutes: at most 400 lines and a handful of dates', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
    expect((readme.match(/20\d\d-[01]\d-[0-3]\d/g) ?? []).length).toBeLessThanOrEqual(5);
  });

  it.each(SCENARIOS.map((s) => s.name))("docs/commands.md shows `rtbench %s --help` as the command prints it today", async (name) => {
    const { code, stdout } = await runCli([name, '--help']);
    expect(code).toBe(0);
    // burst's block is whole; the other commands' blocks stop where the options common to all begin.
    const lines = stdout.trimEnd().split('\n');
    const common = lines.findIndex((line) => line.startsWith('  -t, --transport'));
    const block = name === 'burst' ? lines.join('\n') : lines.slice(0, common).join('\n');
    expect(common).toBeGreaterThan(0);
    expect(commands, `docs/commands.md block for ${name} differs from its --help; paste:\n${block}`).toContain(`\`\`\`\n${block}\n`);
  });

  it('never points outside the repository', () => {
    expect(readme).not.toMatch(/\.\.\/shared/);
    expect(commands).not.toMatch(/\.\.\/shared/);
  });
});
