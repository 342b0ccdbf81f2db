import { request } from 'undici';

/**
 * A target's own CPU and memory, read from its Prometheus text endpoint (`--server-metrics`):
 * `process_cpu_seconds_total` (a counter) and `process_resident_memory_bytes` (a gauge), as Spring
 * Boot's /actuator/prometheus, prom-client and most exporters serve them. A reading that fails or
 * does not make sense gives null and a note saying why, never an exception: the run goes on.
 */

export interface MetricsReading {
  readonly cpuSeconds: number | null;
  readonly rssBytes: number | null;
  /** Why a figure is missing, if one is. */
  readonly problems: readonly string[];
}

const CPU = 'process_cpu_seconds_total';
const RSS = 'process_resident_memory_bytes';
/** An answer larger than this is not read further: a metrics page is kilobytes, not a stream. */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * The value of an unlabelled (or any single) sample of `name` in Prometheus text format; null when
 * absent or not a finite number. Several samples of one name (labels) are added up.
 */
export function metricValue(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{' && rest[0] !== '\t') continue;
    const afterLabels = rest[0] === '{' ? rest.slice(rest.indexOf('}') + 1) : rest;
    const value = Number(afterLabels.trim().split(/\s+/)[0]);
    if (!Number.isFinite(value) || value < 0) return null;
    sum = (sum ?? 0) + value;
  }
  return sum;
}

export async function readMetrics(url: string, timeoutMs: number): Promise<MetricsReading> {
  let text: string;
  try {
    const response = await request(url, { headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(timeoutMs) });
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_BYTES) {
        response.body.destroy();
        return { cpuSeconds: null, rssBytes: null, problems: [`its answer is larger than ${MAX_BYTES / 1024 / 1024} MiB`] };
      }
      chunks.push(chunk);
    }
    if (response.statusCode !== 200) return { cpuSeconds: null, rssBytes: null, problems: [`it answered HTTP ${response.statusCode}`] };
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    const err = error as { code?: string; name?: string; cause?: { code?: string } };
    const code = err.name === 'TimeoutError' ? 'a timeout' : (err.cause?.code ?? err.code ?? err.name ?? 'an error');
    return { cpuSeconds: null, rssBytes: null, problems: [`it could not be read (${code})`] };
  }
  const cpuSeconds = metricValue(text, CPU);
  const rssBytes = metricValue(text, RSS);
  const problems = [...(cpuSeconds === null ? [`it has no ${CPU}`] : []), ...(rssBytes === null ? [`it has no ${RSS}`] : [])];
  return { cpuSeconds, rssBytes, problems };
}

/**
 * CPU share between successive readings of one endpoint, from its counter: a counter that went back
 * (the process restarted) starts over, with a note.
 */
export class MetricsCpu {
  private previous: { cpuSeconds: number; atMs: number } | null = null;

  /** % of one core since the previous reading; null for the first, after a gap, or when the counter went back. */
  share(reading: MetricsReading, atMs: number): { cpuPct: number | null; problem: string | null } {
    const previous = this.previous;
    this.previous = reading.cpuSeconds === null ? null : { cpuSeconds: reading.cpuSeconds, atMs };
    if (reading.cpuSeconds === null || previous === null || atMs <= previous.atMs) return { cpuPct: null, problem: null };
    if (reading.cpuSeconds < previous.cpuSeconds) return { cpuPct: null, problem: `its ${CPU} went back (from ${previous.cpuSeconds} to ${reading.cpuSeconds}: a restart?)` };
    return { cpuPct: ((reading.cpuSeconds - previous.cpuSeconds) * 1000 * 100) / (atMs - previous.atMs), problem: null };
  }
}
