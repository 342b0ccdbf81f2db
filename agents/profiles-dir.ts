import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type ProfileRef, loadProfile } from '../targets/load.js';

/**
 * A profile as a coordinator names it to its agents: a built-in by name, or a file by its name and
 * the SHA-256 of its content. Never a path: an agent loads profile files only from the folder it was
 * given (`rtbench agent --profiles DIR`), and only the very file the coordinator measures with.
 */
export type WireProfile = { readonly builtIn: string } | { readonly file: string; readonly sha256: string };

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The coordinator's side: what to tell agents of the profile it loaded. */
export function wireProfile(ref: ProfileRef): WireProfile {
  return 'builtIn' in ref ? { builtIn: ref.builtIn } : { file: basename(ref.source), sha256: sha256Of(ref.source) };
}

/** The agent's side: the profile to run, from its own folder, or why it will not. */
export async function localProfile(wire: WireProfile, profilesDir: string | null): Promise<{ readonly ref: ProfileRef } | { readonly refused: string }> {
  if ('builtIn' in wire) {
    try {
      return { ref: (await loadProfile(wire.builtIn)).ref };
    } catch {
      return { refused: `the coordinator named a built-in profile this agent does not have (${wire.builtIn}): another version of rtbench?` };
    }
  }
  const { file, sha256 } = wire;
  if (profilesDir === null) return { refused: `the run uses profile file ${file}, and this agent loads profile files only from a folder it is given (rtbench agent --profiles DIR)` };
  if (file !== basename(file) || file.startsWith('.')) return { refused: `the coordinator named profile file ${JSON.stringify(file)}, which is not a plain file name` };
  const path = join(profilesDir, file);
  let found: string;
  try {
    found = sha256Of(path);
  } catch {
    return { refused: `profile file ${file} is not in ${profilesDir} (--profiles)` };
  }
  if (found !== sha256) return { refused: `${path} differs from the coordinator's ${file} (SHA-256 ${found.slice(0, 12)}... against ${sha256.slice(0, 12)}...)` };
  try {
    return { ref: (await loadProfile(path)).ref };
  } catch (error) {
    return { refused: `${path} could not be loaded: ${(error as Error).message}` };
  }
}
