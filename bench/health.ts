import { request } from 'undici';
import { RtbError } from './errors.js';
import { sleep } from './sleep.js';
import { endpoint } from '../clients/url.js';

/** One `GET /health`; resolves with the status code, rejects on a network error or timeout. */
async function healthStatus(baseUrl: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const url = endpoint(baseUrl, '/health');
  const response = await request(url, {
    method: 'GET',
    headers,
    signal: AbortSignal.timeout(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  await response.body.dump();
  return response.statusCode;
}

/** Waits until a server we started answers `/health` with 200, checking every 50 ms up to `timeoutMs`. */
export async function waitForHealth(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const status = await healthStatus(baseUrl, {}, Math.max(100, deadline - Date.now()));
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new RtbError('RTB_ERR_CHILD_START', `server at ${baseUrl} was not healthy within ${timeoutMs} ms (${last})`);
}

/** A `--target` must answer `/health` at once: an unreachable target is a clear error, never a hang. */
export async function checkTarget(baseUrl: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let status: number;
  try {
    status = await healthStatus(baseUrl, headers, timeoutMs);
  } catch (error) {
    const err = error as Error & { code?: string; cause?: { code?: string } };
    const code = err.cause?.code ?? err.code ?? err.name;
    throw new RtbError(
      'RTB_ERR_TARGET_UNREACHABLE',
      `--target ${baseUrl} is unreachable: GET /health failed with ${code} (${err.message}) within ${timeoutMs} ms`,
      { cause: error },
    );
  }
  if (status !== 200) {
    throw new RtbError('RTB_ERR_TARGET_UNREACHABLE', `--target ${baseUrl} answered GET /health with HTTP ${status}; contract A expects 200`);
  }
}
