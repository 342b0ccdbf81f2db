import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RtbError } from '../core/errors.js';
import { TRANSPORTS } from '../core/transports.js';
import { PROFILES } from './index.js';
import type { TargetProfile } from './types.js';

/** How a thread finds a profile again: a built-in name, or the module file to import. */
/** A loaded profile: a built-in's name, or the module to import (a `.ts` file's compiled copy) and the file it came from. */
export type ProfileRef = { readonly builtIn: string } | { readonly module: string; readonly source: string };

/** A profile that cannot be used is a usage error: named, with what is accepted, exit 2. */
class ProfileError extends RtbError {
  constructor(message: string) {
    super('RTB_ERR_USAGE', message);
  }
}

const FUNCTIONS = ['health', 'provision', 'publisher', 'subscription'] as const;

/** Checks a loaded profile's shape, naming every problem (a user's file is checked when loaded, not when it fails mid-run). */
export function checkProfile(value: unknown, where: string): TargetProfile {
  const problems: string[] = [];
  const profile = value as Partial<TargetProfile> | null;
  if (!profile || typeof profile !== 'object') throw new ProfileError(`${where}: the default export must be a profile object, got ${value === null ? 'null' : typeof value}`);
  if (typeof profile.name !== 'string' || profile.name === '') problems.push('`name` must be a non-empty string');
  if (typeof profile.summary !== 'string') problems.push('`summary` must be a string');
  if (!Array.isArray(profile.transports) || profile.transports.length === 0) problems.push(`\`transports\` must list at least one of ${TRANSPORTS.join(', ')}`);
  else for (const name of profile.transports) if (!(TRANSPORTS as readonly string[]).includes(name)) problems.push(`\`transports\` names '${String(name)}'; known transports are ${TRANSPORTS.join(', ')}`);
  if (!profile.resume || typeof profile.resume !== 'object') problems.push('`resume` must be an object (e.g. {} when nothing can resume)');
  else {
    for (const [name, kind] of Object.entries(profile.resume)) {
      if (!(TRANSPORTS as readonly string[]).includes(name)) problems.push(`\`resume\` names unknown transport '${name}'`);
      if (!['cursor', 'last-event-id', 'none'].includes(String(kind))) problems.push(`\`resume.${name}\` is '${String(kind)}'; expected cursor, last-event-id or none`);
    }
  }
  for (const fn of FUNCTIONS) if (typeof profile[fn] !== 'function') problems.push(`\`${fn}\` must be a function`);
  if (problems.length > 0) throw new ProfileError(`${where} is not a valid target profile:\n  - ${problems.join('\n  - ')}`);
  return profile as TargetProfile;
}

/**
 * A `.ts` profile is compiled with TypeScript's transpiler (types stripped, nothing else) into a
 * module beside rtbench's temporary files; import only types in it (`import type`), so it needs
 * nothing at run time but Node.
 */
async function compiled(path: string): Promise<string> {
  if (extname(path) !== '.ts') return path;
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new ProfileError(`--profile ${path}: a .ts profile needs the typescript package (npm install typescript), or write it in .js`);
  }
  const output = ts.transpileModule(await readFile(path, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: path });
  const folder = join(tmpdir(), 'rtbench-profiles');
  await mkdir(folder, { recursive: true });
  const out = join(folder, `${basename(path, '.ts')}-${Buffer.from(path).toString('base64url').slice(-16)}.mjs`);
  await writeFile(out, output.outputText);
  return out;
}

/** Resolves `--profile`: a built-in name, or a path to a module whose default export is a profile. */
export async function loadProfile(nameOrPath: string): Promise<{ profile: TargetProfile; ref: ProfileRef }> {
  const builtIn = PROFILES[nameOrPath];
  if (builtIn) return { profile: builtIn as TargetProfile, ref: { builtIn: nameOrPath } };
  const looksLikePath = /[./\\]/.test(nameOrPath);
  if (!looksLikePath) throw new ProfileError(`--profile '${nameOrPath}' is neither a built-in profile (${Object.keys(PROFILES).join(', ')}) nor a file path (./my-api.js)`);
  const path = resolve(nameOrPath);
  if (!existsSync(path)) throw new ProfileError(`--profile ${nameOrPath}: no such file (${path})`);
  if (!['.js', '.mjs', '.ts'].includes(extname(path))) throw new ProfileError(`--profile ${nameOrPath}: expected a .js, .mjs or .ts file`);
  const module = await compiled(path);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(module).href)) as { default?: unknown };
  } catch (error) {
    throw new ProfileError(`--profile ${nameOrPath} could not be loaded: ${(error as Error).message}`);
  }
  return { profile: checkProfile(loaded.default, `--profile ${nameOrPath}`), ref: { module, source: path } };
}

/** In a subscriber thread: the same profile again, from what the main thread resolved. */
export async function profileFromRef(ref: ProfileRef): Promise<TargetProfile> {
  if ('builtIn' in ref) return PROFILES[ref.builtIn] as TargetProfile;
  return checkProfile(((await import(pathToFileURL(ref.module).href)) as { default?: unknown }).default, ref.module);
}
