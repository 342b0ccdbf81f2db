import { Command } from 'commander';
import { EXIT } from '../core/errors.js';
import { resumeKindOf } from '../run/target.js';
import { PROFILES, type TargetProfile } from '../targets/index.js';
import { loadProfile } from '../targets/load.js';

/** One profile as a newcomer needs it: what it measures, over what, how it resumes, what it can be told. */
export function describeProfile(profile: TargetProfile): string {
  const lines = [`${profile.name}: ${profile.summary}`, '', 'Transports (resume):'];
  for (const transport of profile.transports) lines.push(`  ${transport} (${resumeKindOf(profile, transport)})`);
  const options = Object.entries(profile.options ?? {});
  lines.push('', options.length === 0 ? 'Options: none (--profile-opt is refused)' : 'Options (--profile-opt KEY=VALUE):');
  const width = Math.max(0, ...options.map(([key]) => key.length));
  for (const [key, option] of options) lines.push(`  ${key.padEnd(width)}  ${option.description} (default: ${option.defaultValue})`);
  return `${lines.join('\n')}\n`;
}

/** `rtbench profiles [profile]`: the built-in profiles, or one profile (built in or a file) in full. */
export function profilesCommand(setExitCode: (code: number) => void): Command {
  return new Command('profiles')
    .description('list the built-in target profiles, or show one (built in or ./my-api.ts): its transports, how each resumes, and the --profile-opt keys it takes')
    .argument('[profile]', 'a built-in profile name or a profile file')
    .action(async (name: string | undefined) => {
      if (name !== undefined) {
        process.stdout.write(describeProfile((await loadProfile(name)).profile));
        setExitCode(EXIT.ok);
        return;
      }
      const width = Math.max(...Object.keys(PROFILES).map((key) => key.length));
      for (const profile of Object.values(PROFILES)) {
        process.stdout.write(`${profile.name.padEnd(width)}  ${profile.transports.join(', ')}: ${profile.summary}\n`);
      }
      process.stdout.write('\nrtbench profiles <name> shows one in full; --profile ./my-api.ts measures a profile of your own (docs/profiles.md).\n');
      setExitCode(EXIT.ok);
    });
}
