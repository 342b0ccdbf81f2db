import { join } from 'node:path';
import { distEntry, packageRoot } from './paths.js';
import type { TransportName } from './transports.js';

/**
 * Every program rtbench starts as a child process or a worker thread, and every source file it reads
 * at run time, by name: the one place such a path is written. An import is something the dependency
 * rule sees; a path handed to `spawn` or `new Worker` is not, so test/architecture.test.ts refuses a
 * path into another folder anywhere else.
 */
const PROGRAMS = {
  /** The command line itself (the benchmarks and the tests run it as a child). */
  cli: 'cli.js',
  /** One built-in server instance (servers/main.ts): `--port`, `--transports`, `--bus`. */
  referenceServer: 'servers/main.js',
  /** The null server rtbench measures its own ceiling against (servers/null-server.ts). */
  nullServer: 'servers/null-server.js',
  /** The delay and fault proxy, and the bus proxy of a cluster (run/proxy-main.ts). */
  proxy: 'run/proxy-main.js',
  /** One subscriber thread (load/worker/subscriber-worker.ts), locally or on an agent. */
  subscriberWorker: 'load/worker/subscriber-worker.js',
  /** The benchmark's raw floor server (bench/floor-server.ts). */
  floorServer: 'bench/floor-server.js',
  /** The benchmark's cheapest receiver, which runs itself in worker threads (bench/bare-receiver.ts). */
  bareReceiver: 'bench/bare-receiver.js',
  /** Loaded into the built-in server with --import to time its stages (bench/publish-stages.ts). */
  publishStages: 'bench/publish-stages.js',
} as const;

export type ProgramName = keyof typeof PROGRAMS;

/** Absolute path of a compiled program, to spawn or to start as a worker. */
export function programPath(name: ProgramName): string {
  return distEntry(PROGRAMS[name]);
}

/** The sources `rtbench report` counts the lines of: each transport's built-in server plugin and client. */
export const TRANSPORT_SOURCES: Readonly<Record<TransportName, { readonly server: readonly string[]; readonly client: readonly string[] }>> = {
  ws: { server: ['servers/ws.ts'], client: ['clients/ws.ts'] },
  sse: { server: ['servers/sse.ts'], client: ['clients/sse.ts'] },
  'long-polling': { server: ['servers/long-polling.ts'], client: ['clients/long-polling.ts'] },
  stomp: { server: ['servers/stomp.ts', 'core/stomp-frames.ts'], client: ['clients/stomp.ts'] },
};

/** The JSON Schema of summary.json, generated from core/result.ts (`npm run schema`) and read to check a summary. */
const SUMMARY_SCHEMA = 'docs/summary.schema.json';

export function summarySchemaPath(): string {
  return join(packageRoot, SUMMARY_SCHEMA);
}

/** Every path this module names, relative to the package root (for the test that checks they exist). */
export const NAMED_PATHS: readonly string[] = [
  SUMMARY_SCHEMA,
  ...Object.values(PROGRAMS),
  ...Object.values(TRANSPORT_SOURCES).flatMap((s) => [...s.server, ...s.client]),
];
