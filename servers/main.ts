#!/usr/bin/env node
/**
 * Runs one reference server as its own process, so its CPU and memory are measured apart from the
 * load generator. Prints one JSON line `{"url", "pid", "transports"}` once listening (with `--http2`,
 * an https URL and `ca`, the PEM of the throwaway certificate made at start, to trust for this run); exits on SIGTERM/SIGINT and
 * when its standard input closes (the harness died), so no server outlives its run.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER_OPTIONS, TRANSPORTS, type TransportName, buildServer } from './app.js';
import { BUS_URL_ENV } from '../core/redis.js';
import { TLS_CERT_ENV, TLS_KEY_ENV, throwawayCert } from '../core/throwaway-cert.js';

function intOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`rtbench server: --${name} ${String(text)} is not a non-negative integer\n`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    transports: { type: 'string', default: TRANSPORTS.join(',') },
    history: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'poll-timeout-ms': { type: 'string' },
    'stomp-heartbeat-ms': { type: 'string' },
    'fan-out-delay-ms': { type: 'string' },
    bus: { type: 'string', default: 'memory' },
    'bus-prefix': { type: 'string', default: DEFAULT_SERVER_OPTIONS.busPrefix },
    'exit-on-stdin-end': { type: 'boolean', default: false },
    http2: { type: 'boolean', default: false },
  },
});

const transports = String(values.transports)
  .split(',')
  .filter((name): name is TransportName => (TRANSPORTS as readonly string[]).includes(name));

// rtbench hands every instance of a run the same certificate (it trusts that one); alone, it makes its own.
const given = process.env[TLS_KEY_ENV] && process.env[TLS_CERT_ENV] ? { keyPem: process.env[TLS_KEY_ENV], certPem: process.env[TLS_CERT_ENV] } : null;
const cert = values.http2 ? (given ?? throwawayCert()) : null;
const app = await buildServer({
  http2: cert ? { key: cert.keyPem, cert: cert.certPem } : null,
  transports,
  historyLimit: intOption(values, 'history', DEFAULT_SERVER_OPTIONS.historyLimit) || 1,
  heartbeatMs: intOption(values, 'heartbeat-ms', DEFAULT_SERVER_OPTIONS.heartbeatMs) || 1,
  longPollTimeoutMs: intOption(values, 'poll-timeout-ms', DEFAULT_SERVER_OPTIONS.longPollTimeoutMs),
  stompHeartbeatMs: intOption(values, 'stomp-heartbeat-ms', DEFAULT_SERVER_OPTIONS.stompHeartbeatMs),
  fanOutDelayMs: intOption(values, 'fan-out-delay-ms', DEFAULT_SERVER_OPTIONS.fanOutDelayMs),
  bus: values.bus === 'env' ? (process.env[BUS_URL_ENV] ?? 'memory') : String(values.bus),
  busPrefix: String(values['bus-prefix']),
}).catch((error: unknown) => {
  // A bus that cannot be reached at start is a failed start, said once, not a hang.
  process.stderr.write(`rtbench server: cannot start: ${(error as Error).message}\n`);
  process.exit(1);
});

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(code), 3000);
  force.unref();
  await app.close().catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
if (values['exit-on-stdin-end']) {
  process.stdin.on('end', () => void shutdown(0));
  process.stdin.on('error', () => void shutdown(0));
  process.stdin.resume();
}

const url = await app.listen({ host: String(values.host), port: intOption(values, 'port', 0), backlog: 4096 });
process.stdout.write(`${JSON.stringify({ url, pid: process.pid, transports, ...(cert ? { ca: cert.certPem } : {}) })}\n`);
