#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { EXIT_CODES_HELP } from './commands/measure.js';
import { EXIT, RtbError } from './core/errors.js';
import { environment } from './core/environment.js';

export function buildProgram(): Command {
  const program = new Command('rtbench')
    .description('Measure realtime transports (WebSocket, SSE, long polling, STOMP) side by side on identical chat-room semantics.')
    .version(environment().rtbenchVersion)
    .showHelpAfterError('(run with --help for every option and its default)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride();

  for (const command of COMMANDS((code) => (process.exitCode = code))) program.addCommand(command.exitOverride());
  return program;
}

async function main(): Promise<void> {
  // `rtbench burst --help | head`: a reader that went away is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? EXIT.ok);
  });
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parse error is a usage error.
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof RtbError) {
      process.stderr.write(`rtbench: error: ${error.message}\n`);
      if (error.code === 'RTB_ERR_USAGE') process.stderr.write('(run with --help for every option and its default)\n');
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`rtbench: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}

await main();
