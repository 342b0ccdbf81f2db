import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NAMED_PATHS } from '../core/entry-points.js';
import { packageRoot } from '../core/paths.js';

const run = promisify(execFile);
const DEPCRUISE = join(packageRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(packageRoot, '.dependency-cruiser.cjs');
const RULES = (createRequire(import.meta.url)(CONFIG) as { forbidden: Array<{ name: string; comment?: string }> }).forbidden;
/** What each layer may import, read from the rule's own config (`<folder>/ may import only a, b`). */
const MAY: ReadonlyMap<string, readonly string[]> = new Map(
  RULES.flatMap((rule) => {
    const name = /^(.+)-imports-only-below$/.exec(rule.name)?.[1];
    return name === undefined ? [] : [[name, (/may import only (.*)$/.exec(rule.comment ?? '')?.[1] ?? '').split(', ').filter(Boolean)] as const];
  }),
);
/** The layers the rule places. */
const LAYERS: string[] = [...MAY.keys()];
const FOLDERS = ['cli.ts', ...LAYERS];
/** Top-level folders that are not product code: the tests, the documentation (its examples are tested), and what tools write. */
const NOT_PRODUCT = new Set(['test', 'docs', 'node_modules', 'dist', 'results', 'reports', '.stryker-tmp']);

/** Top-level folders holding TypeScript, beside the ones the rule places. */
function unplacedFolders(root: string, placed: readonly string[]): string[] {
  const holdsTs = (dir: string): boolean =>
    readdirSync(dir).some((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? holdsTs(path) : name.endsWith('.ts');
    });
  return readdirSync(root)
    .filter((name) => !name.startsWith('.') && !NOT_PRODUCT.has(name) && statSync(join(root, name)).isDirectory())
    .filter((name) => !placed.includes(name) && holdsTs(join(root, name)));
}

/**
 * Quoted paths into a source folder (`'servers/main.js'`) outside the entry-point module: a child
 * process, a worker or a file read at run time that the dependency rule cannot see. Imports are
 * what the rule checks, so their lines are left out.
 */
function runtimePaths(file: string, text: string): string[] {
  if (file === 'core/entry-points.ts') return [];
  const folders = FOLDERS.filter((f) => f !== 'cli.ts').join('|');
  const quoted = new RegExp(`['"\`](?:\\.{1,2}/)*(?:${folders})/[\\w./-]+\\.(?:js|ts|mjs)['"\`]`, 'g');
  return text
    .split('\n')
    .filter((line) => !/^\s*(import|export)\b.*\bfrom\b/.test(line) && !/^\s*(\*|\/\/)/.test(line))
    .flatMap((line) => line.match(quoted) ?? [])
    .map((hit) => `${file}: ${hit}`);
}

function productFiles(dir = packageRoot, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const relative = prefix ? `${prefix}/${name}` : name;
    if (!prefix && (name.startsWith('.') || NOT_PRODUCT.has(name))) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return productFiles(path, relative);
    return name.endsWith('.ts') ? [relative] : [];
  });
}

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
      for (const folder of ['core', 'run']) mkdirSync(join(root, folder));
      writeFileSync(join(root, 'tsconfig.json'), '{"compilerOptions":{"module":"NodeNext","moduleResolution":"NodeNext"}}');
      writeFileSync(join(root, 'core', 'clock.ts'), "import { x } from '../run/runner.js';\nexport const y = x;\n");
      writeFileSync(join(root, 'run', 'runner.ts'), "import { y } from '../core/clock.js';\nexport const x = 1;\nexport const z = y;\n");
      const { ok, output } = await cruise(root, ['core', 'run']);
      expect(ok).toBe(false);
      expect(output).toContain('core-imports-only-below: core/clock.ts → run/runner.ts');
      expect(output).toContain('no-cycles');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('places every top-level folder of code in a layer: a new one fails until it is placed', () => {
    expect(unplacedFolders(packageRoot, LAYERS)).toEqual([]);
    const root = mkdtempSync(join(tmpdir(), 'rtb-folders-'));
    try {
      mkdirSync(join(root, 'core'));
      mkdirSync(join(root, 'gadgets'));
      writeFileSync(join(root, 'core', 'a.ts'), 'export const a = 1;\n');
      writeFileSync(join(root, 'gadgets', 'b.ts'), 'export const b = 1;\n');
      expect(unplacedFolders(root, LAYERS)).toEqual(['gadgets']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reaches programs and run-time source files only through core/entry-points.ts, whose paths exist', () => {
    const found = productFiles().flatMap((file) => runtimePaths(file, readFileSync(join(packageRoot, file), 'utf8')));
    expect(found).toEqual([]);
    expect(runtimePaths('run/x.ts', "startChild('server', join(root, 'dist', 'servers/main.js'));")).toEqual(["run/x.ts: 'servers/main.js'"]);
    expect(runtimePaths('run/x.ts', "import { a } from '../servers/main.js';")).toEqual([]);
    for (const path of NAMED_PATHS) expect(existsSync(join(packageRoot, path.replace(/\.js$/, '.ts'))), path).toBe(true);
  });

  it("docs/architecture.md draws the layers as the rule has them: every layer, and only arrows it allows", () => {
    const doc = readFileSync(join(packageRoot, 'docs', 'architecture.md'), 'utf8');
    const chart = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    // A node's folder: the one its label names first (`cli.ts, commands/` is the commands layer).
    const folderOf = new Map<string, string>();
    for (const [, id, label] of chart.matchAll(/(\w+)\["([^"]*)"\]/g)) folderOf.set(id!, /(\w+)\//.exec(label!)?.[1] ?? id!);
    const edges = [...chart.matchAll(/^\s*(\w+)(?:\["[^"]*"\])?\s*-->\s*(\w+)/gm)].map(([, from, to]) => [folderOf.get(from!) ?? from!, folderOf.get(to!) ?? to!] as const);
    expect(edges.length).toBeGreaterThan(10);
    for (const [from, to] of edges) expect(MAY.get(from), `${from} --> ${to}`).toContain(to);
    for (const layer of LAYERS) expect([...folderOf.values()], layer).toContain(layer);
  });
});
