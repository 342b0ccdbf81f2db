#!/usr/bin/env node
/**
 * Where the built-in server's part of the calibration goes: inside the server process,
 * each POST is timed from its headers being parsed to the first WebSocket frame pushed for it, in
 * stages, for the raw floor server (bench/floor-server.ts) and for the built-in one, on the
 * calibration's schedule with its bare clients (bench/calibration.ts).
 *
 *   node dist/bench/publish-stages.js [--kind ws|stomp] [--bursts 100] [--repeats 2] [--gap-ms 50] [--pause-ms 100]
 *
 * Run as a program, it runs the two floors in turn with itself preloaded (`node --import`) into their
 * server processes. Preloaded, it records each POST's stages and appends their medians to the file
 * named by RTBENCH_STAGES_OUT when the server exits. A diagnosis, not a measurement rtbench reports:
 * the probes cost a few µs a POST themselves, and they follow one POST at a time (a POST that arrives
 * before the previous one's first frame replaces it), which the calibration's schedule, sends 50 ms
 * apart, keeps true.
 */
import { subscribe } from 'node:diagnostics_channel';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { median } from '../analysis/stats.js';
import { MemoryBus } from '../servers/memory-bus.js';
import { programPath } from '../core/entry-points.js';
import { type FloorOptions, measureFloor } from './calibration.js';

const OUT_ENV = 'RTBENCH_STAGES_OUT';
const STAGES = ['bodyEndUs', 'publishUs', 'firstSendUs'] as const;
type Stage = (typeof STAGES)[number];
type StageLine = { server: string; posts: number } & { [S in Stage]: number | null };

/** In a server process: time each POST's stages on the monotonic clock, relative to its parsed headers. */
function installProbes(out: string, server: string): void {
  const samples = new Map<Stage, number[]>(STAGES.map((stage) => [stage, []]));
  let startNs = 0n;
  let open: Partial<Record<Stage, number>> | null = null;
  const mark = (stage: Stage): void => {
    if (open && open[stage] === undefined) open[stage] = Number(process.hrtime.bigint() - startNs) / 1000;
  };
  subscribe('http.server.request.start', (message) => {
    const { request } = message as { request: IncomingMessage };
    if (request.method !== 'POST') return;
    startNs = process.hrtime.bigint();
    open = {};
    request.once('end', () => mark('bodyEndUs'));
  });
  const publish = MemoryBus.prototype.publish;
  MemoryBus.prototype.publish = function (this: MemoryBus, ...args: Parameters<MemoryBus['publish']>) {
    mark('publishUs');
    return publish.apply(this, args);
  };
  // Overloaded in its typings: patched as a plain function of its arguments.
  const prototype = WebSocket.prototype as unknown as { send: (...args: unknown[]) => void };
  const send = prototype.send;
  prototype.send = function (this: WebSocket, ...args: unknown[]) {
    if (open) {
      mark('firstSendUs');
      for (const stage of STAGES) if (open[stage] !== undefined) samples.get(stage)?.push(open[stage] as number);
      open = null;
    }
    return send.apply(this, args);
  };
  process.on('exit', () => {
    const line: StageLine = { server, posts: samples.get('firstSendUs')?.length ?? 0, bodyEndUs: null, publishUs: null, firstSendUs: null };
    for (const stage of STAGES) line[stage] = median(samples.get(stage) ?? []);
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}

/** One server's medians over one repetition, and the p50 its bare clients measured end to end. */
export interface StageRow {
  readonly server: string;
  readonly posts: number;
  readonly bodyEndUs: number | null;
  readonly publishUs: number | null;
  readonly firstSendUs: number | null;
  readonly clientP50Us: number | null;
}

/** Runs the raw floor and the built-in floor in turn, `repeats` times, with the probes preloaded into their servers. */
export async function measurePublishStages(kind: 'ws' | 'stomp', schedule: FloorOptions, repeats: number): Promise<StageRow[]> {
  const folder = mkdtempSync(join(tmpdir(), 'rtbench-stages-'));
  const file = join(folder, 'stages.jsonl');
  const saved = { out: process.env[OUT_ENV], nodeOptions: process.env.NODE_OPTIONS };
  // The floors' servers are children of this process: they inherit the preload and where to write.
  process.env[OUT_ENV] = file;
  process.env.NODE_OPTIONS = `${saved.nodeOptions ?? ''} --import=${pathToFileURL(programPath('publishStages')).href}`.trim();
  try {
    const clientP50s: Array<number | null> = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      // Each floor's server writes its line when it exits, which measureFloor waits for: lines come in run order.
      for (const server of ['bare', 'reference'] as const) clientP50s.push((await measureFloor(schedule, kind, server)).p50);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((text) => JSON.parse(text) as StageLine);
    return lines.map((line, i) => ({ ...line, clientP50Us: clientP50s[i] ?? null }));
  } finally {
    restoreEnv(OUT_ENV, saved.out);
    restoreEnv('NODE_OPTIONS', saved.nodeOptions);
    rmSync(folder, { recursive: true, force: true });
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

const entry = process.argv[1] ?? '';
const out = process.env[OUT_ENV];
if (out && /servers[/\\]main\.js$/.test(entry)) installProbes(out, 'built-in');
else if (out && /floor-server\.js$/.test(entry)) installProbes(out, 'raw floor');
else if (import.meta.url === pathToFileURL(entry).href) await main();

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kind: { type: 'string', default: 'ws' }, bursts: { type: 'string', default: '100' }, repeats: { type: 'string', default: '2' }, 'gap-ms': { type: 'string', default: '50' }, 'pause-ms': { type: 'string', default: '100' } } });
  const kind = values.kind;
  if (kind !== 'ws' && kind !== 'stomp') throw new Error(`--kind: ${kind} is not accepted (ws or stomp: the stages end at the first WebSocket frame)`);
  const schedule = { subscribers: 10, bursts: Number(values.bursts), burstSize: 3, gapMs: Number(values['gap-ms']), pauseMs: Number(values['pause-ms']) };
  const rows = await measurePublishStages(kind, schedule, Number(values.repeats));
  const ms = (us: number | null): string => (us === null ? '-' : (us / 1000).toFixed(3));
  process.stdout.write(`| Server (${kind}) | POSTs | Headers -> body end | -> publish | -> first frame sent | Client-measured p50 (ms) |\n|---|---:|---:|---:|---:|---:|\n`);
  for (const row of rows) process.stdout.write(`| ${row.server} | ${row.posts} | ${ms(row.bodyEndUs)} | ${ms(row.publishUs)} | ${ms(row.firstSendUs)} | ${ms(row.clientP50Us)} |\n`);
}
