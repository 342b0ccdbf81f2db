import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, RtbError } from '../core/errors.js';
import { AgentNameTaken, runAgent } from '../agents/agent.js';
import { DEFAULT_REDIS_URL, caFile, redisUrl } from '../run/options.js';
import { REDIS_CA_ENV } from '../core/redis.js';
import { AGENT_KEY_ENV, agentKeyFromEnv } from '../agents/seal.js';

function folder(text: string): string {
  const path = resolve(text);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new InvalidArgumentError(`expected a folder of profile files; ${path} is not one.`);
  return path;
}

function agentName(text: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(text)) throw new InvalidArgumentError('expected 1 to 64 letters, digits, dots, dashes or underscores, e.g. agent-1.');
  return text;
}

/**
 * `rtbench agent --coordinator redis://HOST:6379`: a load generator for another rtbench's run
 * (`--agents N`). It registers in Redis, waits to be claimed, holds the subscribers it is dealt, and
 * goes back to waiting when the run ends; Ctrl-C or SIGTERM stop it, closing every connection.
 */
export function agentCommand(setExitCode: (code: number) => void): Command {
  return new Command('agent')
    .description('hold subscribers for the runs of another rtbench (--agents N): wait for work in Redis, serve runs one after another')
    .addOption(new Option('--coordinator <url>', 'the Redis the coordinating rtbench uses: redis (127.0.0.1:6379) or redis://host:port (rediss:// for TLS, user:password@ for AUTH)').argParser((text: string) => redisUrl(text)).default(DEFAULT_REDIS_URL))
    .addOption(new Option('--name <name>', 'this agent\'s name, unique among the agents of one Redis').argParser(agentName).default(`${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64), 'host-pid'))
    .addOption(new Option('--redis-ca <file>', "a certificate authority (PEM) to trust for a rediss:// coordinator, beside the system's").argParser(caFile))
    .addOption(new Option('--once', 'exit after serving one run (as a Kubernetes Job\'s pod would)').default(false))
    .addOption(new Option('--profiles <dir>', 'the only folder profile files are loaded from, by the name the coordinator gives and only if identical to its file (default: built-in profiles only)').argParser(folder))
    .addHelpText('after', `\nThe agent obeys only what is signed with the secret in ${AGENT_KEY_ENV}, which the coordinating rtbench must share.`)
    .action(async (options: { coordinator: string; name: string; once: boolean; profiles?: string; redisCa?: string }) => {
      const key = agentKeyFromEnv();
      if (options.redisCa !== undefined) process.env[REDIS_CA_ENV] = resolve(options.redisCa);
      const controller = new AbortController();
      const stop = (code: number) => () => {
        setExitCode(code);
        controller.abort();
      };
      process.once('SIGINT', stop(EXIT.interrupted));
      process.once('SIGTERM', stop(EXIT.terminated));
      try {
        await runAgent({
          coordinatorUrl: options.coordinator,
          name: options.name,
          once: options.once,
          signal: controller.signal,
          log: (line) => process.stderr.write(`rtbench agent: ${line}\n`),
          key,
          profilesDir: options.profiles ?? null,
        });
      } catch (error) {
        if (error instanceof AgentNameTaken) throw new RtbError('RTB_ERR_USAGE', error.message);
        throw new RtbError('RTB_ERR_NOT_READY', `agent: ${(error as Error).message}`);
      }
    });
}
