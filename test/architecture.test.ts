import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../core/paths.js';

const run = promisify(execFile);
const DEPCRUISE = join(packageRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(packageRoot, '.dependency-cruiser.cjs');
const FOLDERS = ['cli.ts', 'core', 'clients', 'targets', 'engine', 'report', 'analysis', 'decide', 'scenarios', 'servers', 'bench'];

async function cruise(cwd: string, paths: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', ...paths], { cwd });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('layering (docs/architecture.md)', () => {
  it('every folder imports only the folders below it, and nothing imports in a cycle', async () => {
    const { ok, output } = await cruise(packageRoot, FOLDERS);
    expect(output).toContain('no dependency violations found');
    expect(ok, output).toBe(true);
  });

  it('the rule catches an upward import and a cycle', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rtb-layers-'));
    try {
      for (const folder of ['core', 'engine']) mkdirSync(join(root, folder));
      writeFileSync(join(root, 'tsconfig.json'), '{"compilerOptions":{"module":"NodeNext","moduleResolution":"NodeNext"}}');
      writeFileSync(join(root, 'core', 'clock.ts'), "import { x } from '../engine/run.js';\nexport const y = x;\n");
      writeFileSync(join(root, 'engine', 'run.ts'), "import { y } from '../core/clock.js';\nexport const x = 1;\nexport const z = y;\n");
      const { ok, output } = await cruise(root, ['core', 'engine']);
      expect(ok).toBe(false);
      expect(output).toContain('core-imports-only-below: core/clock.ts → engine/run.ts');
      expect(output).toContain('no-cycles');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
