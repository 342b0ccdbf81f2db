import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { TRANSPORTS, type TransportName } from '../core/transports.js';
import { PROFILES } from '../targets/index.js';
import { type Threshold, collectThreshold } from '../analysis/thresholds.js';
import { formatDurationMs, parseDurationMs } from '../core/duration.js';
import { usageError } from '../core/errors.js';
import { existsSync } from 'node:fs';
import { formatCpuList, parseCpuList, pinningProblem } from './pinning.js';
import type { TlsTrust } from '../core/tls-trust.js';

/**
 * Every command-line option is declared once, here or in its scenario, with its parser and default.
 * A parser throws InvalidArgumentError with what is accepted; commander adds the option and value.
 */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly defaultValue?: unknown;
  /** Shown in --help instead of the raw default (e.g. `50ms`). */
  readonly defaultLabel?: string;
  readonly parse?: (text: string, previous: unknown) => unknown;
  readonly choices?: readonly string[];
}

export function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

export function duration(minMs: number, maxMs: number): (text: string) => number {
  return (text) => {
    const ms = parseDurationMs(text);
    if (ms === null || ms < minMs || ms > maxMs) {
      throw new InvalidArgumentError(
        `expected a duration from ${formatDurationMs(minMs)} to ${formatDurationMs(maxMs)}, e.g. 50ms, 1.5s, 2m (a bare number is milliseconds).`,
      );
    }
    return ms;
  };
}

function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL, e.g. http://127.0.0.1:8080.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL.');
  return url.toString().replace(/\/+$/, '');
}

/** `--target`: one base URL, or several comma-separated (the instances of the user's own cluster). */
function baseUrls(text: string): string[] {
  return text.split(',').map((part) => baseUrl(part.trim()));
}

/** `--bus`: memory, or redis (the local Redis) or a redis:// URL. */
function busUrl(text: string): string {
  if (text === 'memory') return 'memory';
  return redisUrl(text, 'memory, ');
}

/** `--coordinator` (of a run and of `rtbench agent`): redis (the local Redis) or a redis:// URL. */
export function redisUrl(text: string, alternatives = ''): string {
  if (text === 'redis') return DEFAULT_REDIS_URL;
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:') {
    throw new InvalidArgumentError(`expected ${alternatives}redis (127.0.0.1:6379), a redis:// URL, or rediss:// for TLS, e.g. redis://10.0.0.5:6379 or rediss://user:password@10.0.0.5:6380.`);
  }
  return text;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const SPREADS = ['round-robin', 'hash'] as const;
export type Spread = (typeof SPREADS)[number];

/** `--server-pid`: one process id or several, comma-separated. */
function pids(text: string): number[] {
  const list = text.split(',').map((part) => Number(part.trim()));
  if (list.length === 0 || !list.every((pid) => Number.isInteger(pid) && pid > 0)) throw new InvalidArgumentError('expected process ids, comma-separated, e.g. 4321 or 4321,4322.');
  return list;
}

function header(text: string, previous: unknown): Record<string, string> {
  const match = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s*(.*)$/.exec(text);
  if (!match) throw new InvalidArgumentError("expected 'Name: value', e.g. 'Authorization: Bearer abc'.");
  return { ...(previous as Record<string, string> | undefined), [match[1] as string]: match[2] as string };
}

/** `--ca`: the path of a readable PEM certificate file (the path is what a result records). */
export function caFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`expected a readable PEM file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new InvalidArgumentError('expected a PEM file holding a certificate (-----BEGIN CERTIFICATE-----).');
  return path;
}

/** `--profile-opt key=value`, accumulated. */
function profileOpt(text: string, previous: unknown): Record<string, string> {
  const match = /^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$/.exec(text);
  if (!match) throw new InvalidArgumentError('expected key=value, e.g. joinEvent=subscribe.');
  return { ...(previous as Record<string, string> | undefined), [match[1] as string]: match[2] as string };
}

/** `--header-file`: one `Name: value` a line; blank lines and lines starting with # are skipped. */
function headerFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`expected a readable file of 'Name: value' lines (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .reduce<Record<string, string>>((all, line) => header(line.trim(), all), {});
}

/** `RTBENCH_HEADER_X_API_KEY=abc` is the header `X-Api-Key: abc`. */
export function headersFromEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const name = /^RTBENCH_HEADER_([A-Z0-9_]+)$/i.exec(key)?.[1];
    if (name !== undefined && value !== undefined) headers[name.toLowerCase().split('_').map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w)).join('-')] = value;
  }
  return headers;
}

export const TRANSPORT_CHOICES = [...TRANSPORTS, 'all'] as const;
const BUILT_IN_PROFILES = Object.keys(PROFILES).join(', ');

/** Options every scenario takes. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { flags: '-t, --transport <name>', description: 'transport to measure; all: every transport the profile serves, each in turn (each on a fresh built-in server, or on --target)', choices: TRANSPORT_CHOICES, defaultValue: 'all' },
  { flags: '--target <url>', description: "the server to measure instead of the built-in one (it must speak the profile's API); several comma-separated URLs: the instances of one cluster, subscribers spread over them", parse: baseUrls },
  { flags: '--instances <count>', description: 'built-in server instances (a cluster: several need --bus redis)', parse: integer(1, 16), defaultValue: 1 },
  { flags: '--bus <bus>', description: 'how built-in instances share messages, ids and history: memory (one instance) or redis[://host:port] (rediss:// for TLS, user:password@ for AUTH) (default: memory)', parse: busUrl },
  { flags: '--spread <how>', description: 'how subscribers are spread over instances, each keeping its own as a sticky load balancer would: round-robin or hash; publishes always round-robin', choices: SPREADS, defaultValue: 'round-robin' },
  { flags: '--agents <count>', description: 'load-generating agents (`rtbench agent`) that take a share of the subscribers beside this process (burst, ramp, soak, throughput)', parse: integer(0, 64), defaultValue: 0 },
  { flags: '--coordinator <url>', description: 'the Redis through which agents are found and driven: redis (127.0.0.1:6379) or redis://host:port (rediss:// for TLS, user:password@ for AUTH)', parse: (text: string) => redisUrl(text), defaultValue: DEFAULT_REDIS_URL, defaultLabel: 'redis://127.0.0.1:6379' },
  { flags: '--profile <name|file>', description: `how to talk to the target: ${BUILT_IN_PROFILES}, or a file of your own (./my-api.js or .ts, see docs/profiles.md)`, defaultValue: 'reference' },
  { flags: '-H, --header <header>', description: "header sent on every request and upgrade, 'Name: value' (repeatable; recorded with its value as ***)", parse: header, defaultValue: {}, defaultLabel: 'none' },
  { flags: '--ca <file>', description: 'a certificate authority (PEM) to trust for https:// and wss:// targets, beside the system\'s', parse: caFile },
  { flags: '--insecure', description: 'verify no TLS certificate (a self-signed test server); said when the run starts and recorded in the summary', defaultValue: false },
  { flags: '--http2', description: 'SSE and long polling over HTTP/2: the built-in server serves TLS (a throwaway certificate made for the run) offering h2 and http/1.1, and an https:// --target is offered h2, used if it agrees; WebSocket and STOMP stay HTTP/1.1 upgrades', defaultValue: false },
  { flags: '--redis-ca <file>', description: "a certificate authority (PEM) to trust for rediss:// (--bus, --coordinator), beside the system's", parse: caFile },
  { flags: '--profile-opt <key=value>', description: "an option of the profile, e.g. joinEvent=subscribe for socketio (repeatable; a key it does not take is refused with the list)", parse: profileOpt, defaultValue: {}, defaultLabel: 'none' },
  { flags: '--header-file <file>', description: "headers from a file, one 'Name: value' a line, so a secret stays out of the command line (also: RTBENCH_HEADER_<NAME>=value in the environment)", parse: headerFile },
  { flags: '--delay <duration>', description: 'one-way network delay added by the proxy to each direction', parse: duration(0, 60_000), defaultValue: 0, defaultLabel: '0ms' },
  { flags: '--jitter <duration>', description: 'uniform jitter around --delay (never reorders bytes)', parse: duration(0, 60_000), defaultValue: 0, defaultLabel: '0ms' },
  { flags: '--delay-mode <mode>', description: "link: delay every byte both ways; request: the original study's nginx sleep, once per HTTP request or upgrade", choices: ['link', 'request'], defaultValue: 'link' },
  { flags: '--resume', description: "resume after a reconnect (since / Last-Event-ID / the profile's cursor); refused for a profile that cannot (default: on where the profile can resume)" },
  { flags: '--no-resume', description: "no resume (long polling without a cursor), as the original study's clients did" },
  { flags: '--server-pid <pid,...>', description: "with --target on this machine: the server's processes to sample (CPU, RSS), each with its children (nginx's master: its workers too)", parse: pids },
  { flags: '--server-metrics <url>', description: "with --target: the server's Prometheus endpoint, read once a second for process_cpu_seconds_total and process_resident_memory_bytes (Spring Boot: /actuator/prometheus)", parse: baseUrl },
  { flags: '--server-cpus <list>', description: 'pin the built-in server to these CPUs (Linux, taskset), e.g. 0 or 0-1', parse: parseCpuList },
  { flags: '--generator-cpus <list>', description: 'pin rtbench itself (every thread) to these CPUs (Linux, taskset), e.g. 1', parse: parseCpuList },
  { flags: '--server-delay <duration>', description: 'built-in server only: hold every message this long before pushing it (a server slowed on purpose, to try a regression gate)', parse: duration(0, 60_000), defaultValue: 0, defaultLabel: '0ms' },
  { flags: '--heartbeat <duration>', description: 'STOMP heart-beat offered both ways; 0 turns heart-beats off', parse: duration(0, 3_600_000), defaultValue: 10_000, defaultLabel: '10s' },
  { flags: '--deadline <duration>', description: 'a message not received this long after its scheduled send is lost', parse: duration(1, 600_000), defaultValue: 10_000, defaultLabel: '10s' },
  { flags: '--connect-timeout <duration>', description: 'limit for a connection, handshake or health check', parse: duration(1, 600_000), defaultValue: 5_000, defaultLabel: '5s' },
  { flags: '--poll-timeout <duration>', description: 'long polling: how long the server holds an empty poll', parse: duration(0, 300_000), defaultValue: 30_000, defaultLabel: '30s' },
  { flags: '--seed <n>', description: 'seed for jitter and reconnect waits, to replay a run', parse: integer(0, 2 ** 31 - 1), defaultValue: 1 },
  { flags: '--repeat <n>', description: 'run everything n times into one folder, transports interleaved (for rtbench compare: 5 or more)', parse: integer(1, 1000), defaultValue: 1 },
  { flags: '--threshold <expression>', description: 'pass/fail rule, e.g. p99<250ms, perMessage.p999<1s, lost==0, errorRate<1%, sse:p99<300ms (repeatable); a failed one exits 3', parse: collectThreshold, defaultValue: [], defaultLabel: 'none' },
  { flags: '-o, --out <dir>', description: 'folder the run folder is written under', defaultValue: 'results' },
  { flags: '--json', description: 'print summary.json to stdout (the table goes to stderr)', defaultValue: false },
  { flags: '--dry-run', description: 'check the command line, the profile and the target, say what would run, and exit', defaultValue: false },
  { flags: '-q, --quiet', description: 'no phase lines or progress on stderr', defaultValue: false },
];

export function toCommanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) option.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.defaultValue !== undefined) option.default(spec.defaultValue, spec.defaultLabel);
  return option;
}

export interface CommonConfig {
  /** `all` (every transport the profile serves) or one transport, checked against the profile when it is loaded. */
  readonly transport: TransportName | 'all';
  /** The first (or only) --target URL; null on the built-in servers. */
  readonly target: string | null;
  /** Every --target URL (empty on the built-in servers). */
  readonly targets: readonly string[];
  /** Built-in server instances. */
  readonly instances: number;
  /** `memory` or the Redis URL the built-in instances share. */
  readonly bus: string;
  readonly spread: Spread;
  /** Agents to deal subscribers to besides this process (0: none), and the Redis they are found in. */
  readonly agents: number;
  readonly coordinator: string;
  /** A built-in profile's name or a profile file's path. */
  readonly profile: string;
  readonly headers: Readonly<Record<string, string>>;
  /** `--profile-opt` as given; checked against the profile once it is loaded. */
  readonly profileOptions: Readonly<Record<string, string>>;
  /** SSE and long polling offer h2 over TLS; the built-in server serves TLS with h2 (--http2). */
  readonly http2: boolean;
  /** Which TLS certificates to trust (--ca, --insecure). */
  readonly tlsTrust: TlsTrust;
  /** --redis-ca: a CA file trusted for rediss://, or null. */
  readonly redisCaFile: string | null;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly delayMode: 'link' | 'request';
  /** true: --resume, false: --no-resume, null: whatever each transport of the profile can do. */
  readonly resume: boolean | null;
  readonly heartbeatMs: number;
  readonly serverDelayMs: number;
  /** The user's server's processes to sample (`--server-pid`), empty when none. */
  readonly serverPids: readonly number[];
  /** The user's server's Prometheus endpoint (`--server-metrics`), or null. */
  readonly serverMetricsUrl: string | null;
  /** CPUs the built-in server and rtbench are pinned to, or null when not pinned. */
  readonly serverCpus: readonly number[] | null;
  readonly generatorCpus: readonly number[] | null;
  readonly deadlineMs: number;
  readonly connectTimeoutMs: number;
  readonly pollTimeoutMs: number;
  readonly seed: number;
  readonly repeat: number;
  readonly thresholds: readonly Threshold[];
  readonly outDir: string;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly quiet: boolean;
}

export function commonConfigFrom(options: Record<string, unknown>): CommonConfig {
  const transport = options.transport as TransportName | 'all';
  if ((options.jitter as number) > (options.delay as number)) {
    throw usageError('--jitter', formatDurationMs(options.jitter as number), `a jitter no larger than --delay (${formatDurationMs(options.delay as number)})`);
  }
  const targets = (options.target as string[] | undefined) ?? [];
  const target = targets[0] ?? null;
  const instances = options.instances as number;
  const bus = (options.bus as string | undefined) ?? 'memory';
  if (target !== null && (instances > 1 || bus !== 'memory')) {
    throw usageError(instances > 1 ? '--instances' : '--bus', instances > 1 ? instances : bus, 'no --instances or --bus with --target: they shape the built-in servers; name each instance of your own cluster in --target a,b,c');
  }
  if ((instances > 1 || targets.length > 1) && (options.delay as number) > 0) {
    throw usageError('--delay', formatDurationMs(options.delay as number), 'no --delay with several instances: the delay proxy fronts one server');
  }
  if (instances > 1 && bus === 'memory') {
    throw usageError('--instances', instances, `several instances with --bus redis (or redis://host:port): instances share messages, ids and history through Redis, which an in-memory bus cannot`);
  }
  const plainTarget = targets.find((url) => !url.startsWith('https:'));
  if (options.http2 === true && plainTarget !== undefined) {
    throw usageError('--http2', plainTarget, 'an https:// --target: HTTP/2 is offered in the TLS handshake (ALPN); without --target the built-in server serves TLS by itself');
  }
  if (target?.startsWith('https:') && (options.delay as number) > 0) {
    // The proxy forwards TCP; clients would reach it by IP and fail the target's certificate check.
    throw usageError('--delay', formatDurationMs(options.delay as number), 'no --delay with an https:// --target (the proxy cannot present its certificate); use an http:// target');
  }
  if (target !== null && (options.serverDelay as number) > 0) {
    throw usageError('--server-delay', formatDurationMs(options.serverDelay as number), 'no --server-delay with --target: it slows the built-in server only');
  }
  const serverPids = (options.serverPid as number[] | undefined) ?? [];
  const serverMetricsUrl = (options.serverMetrics as string | undefined) ?? null;
  if (target === null && (serverPids.length > 0 || serverMetricsUrl !== null)) {
    throw usageError(serverPids.length > 0 ? '--server-pid' : '--server-metrics', serverPids.length > 0 ? serverPids.join(',') : serverMetricsUrl, 'it only with --target: the built-in server is sampled already');
  }
  if (serverPids.length > 0 && serverMetricsUrl !== null) throw usageError('--server-metrics', serverMetricsUrl, 'either --server-pid or --server-metrics, not both: they would sample the same server twice');
  for (const pid of serverPids) {
    if (process.platform === 'linux' && !existsSync(`/proc/${pid}`)) throw usageError('--server-pid', pid, 'the id of a running process on this machine');
  }
  const serverCpus = (options.serverCpus as number[] | undefined) ?? null;
  const generatorCpus = (options.generatorCpus as number[] | undefined) ?? null;
  if (serverCpus !== null && target !== null) throw usageError('--server-cpus', formatCpuList(serverCpus), 'no --server-cpus with --target: it pins the built-in server (pin your own with taskset)');
  for (const [option, cpus] of [['--server-cpus', serverCpus], ['--generator-cpus', generatorCpus]] as const) {
    const problem = cpus === null ? null : pinningProblem(option, cpus);
    if (problem !== null) throw usageError(option, formatCpuList(cpus as number[]), `CPUs rtbench can pin to (${problem})`);
  }
  return {
    transport,
    target,
    targets,
    instances,
    bus,
    spread: options.spread as Spread,
    agents: options.agents as number,
    coordinator: options.coordinator as string,
    profile: options.profile as string,
    // The environment first, then the file, then -H: the most explicit wins.
    profileOptions: options.profileOpt as Record<string, string>,
    http2: options.http2 === true,
    tlsTrust: { ...(options.ca === undefined ? {} : { ca: readFileSync(options.ca as string, 'utf8') }), insecure: options.insecure === true },
    redisCaFile: options.redisCa === undefined ? null : resolve(options.redisCa as string),
    headers: { ...headersFromEnvironment(process.env), ...(options.headerFile as Record<string, string> | undefined), ...(options.header as Record<string, string>) },
    delayMs: options.delay as number,
    jitterMs: options.jitter as number,
    delayMode: options.delayMode as 'link' | 'request',
    resume: typeof options.resume === 'boolean' ? options.resume : null,
    heartbeatMs: options.heartbeat as number,
    serverDelayMs: options.serverDelay as number,
    serverPids,
    serverMetricsUrl,
    serverCpus,
    generatorCpus,
    deadlineMs: options.deadline as number,
    connectTimeoutMs: options.connectTimeout as number,
    pollTimeoutMs: options.pollTimeout as number,
    seed: options.seed as number,
    repeat: options.repeat as number,
    thresholds: options.threshold as Threshold[],
    outDir: options.out as string,
    json: options.json as boolean,
    dryRun: options.dryRun as boolean,
    quiet: options.quiet as boolean,
  };
}
