import { request } from 'undici';
import { RtbError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import { endpoint } from '../targets/http.js';
import type { TargetContext, TargetProfile } from '../targets/types.js';
import { redactUrl } from '../core/redact.js';

/** Waits until a built-in server we started answers `GET /health` with 200, checking every 50 ms up to `timeoutMs`. */
export async function waitForHealth(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await request(endpoint(baseUrl, '/health'), { signal: AbortSignal.timeout(Math.max(100, deadline - Date.now())) });
      await response.body.dump();
      if (response.statusCode === 200) return;
      last = `HTTP ${response.statusCode}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new RtbError('RTB_ERR_CHILD_START', `server at ${baseUrl} was not healthy within ${timeoutMs} ms (${last})`);
}

/** A `--target` must pass its profile's health check at once: an unreachable target is a clear error, never a hang. */
export async function checkTarget(profile: TargetProfile, target: TargetContext): Promise<void> {
  const limit = new AbortController();
  try {
    await Promise.race([
      profile.health(target),
      sleep(target.connectTimeoutMs + 1000, limit.signal).then(() => {
        if (!limit.signal.aborted) throw Object.assign(new Error(`no answer within ${target.connectTimeoutMs} ms`), { code: 'TIMEOUT' });
      }),
    ]);
  } catch (error) {
    const err = error as Error & { code?: string; cause?: { code?: string } };
    const code = err.cause?.code ?? err.code ?? err.name;
    throw new RtbError('RTB_ERR_TARGET_UNREACHABLE', `--target ${redactUrl(target.directUrl)} is unreachable for profile ${profile.name}: its health check failed with ${code} (${err.message})`, { cause: error });
  } finally {
    limit.abort();
  }
}
