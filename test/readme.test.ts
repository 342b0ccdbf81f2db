import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMON_OPTIONS } from '../bench/options.js';
import { packageRoot } from '../bench/paths.js';
import { SCENARIOS } from '../scenarios/index.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('gives the two commands CI and users rely on', () => {
    expect(readme).toContain('npm install && npx rtbench burst');
    expect(readme).toContain('npm install && npm test');
    expect(readFileSync(join(packageRoot, '.ci', 'run'), 'utf8')).toContain('npm test');
  });

  it('documents every option of every scenario', () => {
    for (const scenario of SCENARIOS) {
      for (const spec of [...scenario.options, ...COMMON_OPTIONS]) {
        const long = /--[a-z-]+/.exec(spec.flags)?.[0];
        expect(readme, `${scenario.name} ${long}`).toContain(long);
      }
    }
  });
});
