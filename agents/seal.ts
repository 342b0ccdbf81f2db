import { createHmac, timingSafeEqual } from 'node:crypto';
import { RtbError } from '../core/errors.js';

/** The environment variable holding the secret an agent and its coordinator share. */
export const AGENT_KEY_ENV = 'RTBENCH_AGENT_KEY';
const KEY_MIN_CHARS = 16;

/**
 * How long a sealed message is good for, by the wall clock of the side that opens it: a message
 * replayed later is stale. Wide enough for the clocks of two machines kept by NTP.
 */
export const SEAL_TTL_MS = 30_000;

/** The shared secret, from the environment; a usage error when it is missing or short. */
export function agentKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const key = env[AGENT_KEY_ENV] ?? '';
  if (key.length < KEY_MIN_CHARS) {
    throw new RtbError(
      'RTB_ERR_USAGE',
      `${AGENT_KEY_ENV} ${key === '' ? 'is not set' : `has ${key.length} characters`}: agents and their coordinator sign what they say to each other with a secret they share, of at least ${KEY_MIN_CHARS} characters (for example: export ${AGENT_KEY_ENV}=$(openssl rand -hex 32), the same on every side)`,
    );
  }
  return Buffer.from(key, 'utf8');
}

interface Envelope {
  readonly run: string;
  readonly seq: number;
  /** Wall-clock ms after which it is stale. */
  readonly exp: number;
  readonly body: string;
  readonly mac: string;
}

/** The MAC covers the channel (who to whom, and what for), so a message cannot be moved to another. */
function macOf(key: Buffer, channel: string, run: string, seq: number, exp: number, body: string): string {
  return createHmac('sha256', key).update(`rtbench-agent-v1\n${channel}\n${run}\n${seq}\n${exp}\n${body}`).digest('base64url');
}

/** Seals what one side says on one channel: numbered, timed and signed. */
export class Sealer {
  private seq = 0;

  constructor(
    private readonly key: Buffer,
    private readonly channel: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  seal(run: string, body: string): string {
    const seq = ++this.seq;
    const exp = this.nowMs() + SEAL_TTL_MS;
    return JSON.stringify({ run, seq, exp, body, mac: macOf(this.key, this.channel, run, seq, exp, body) } satisfies Envelope);
  }
}

/** A log that says each distinct line once: a forged value read again every second is reported once. */
export function logOnce(log: (line: string) => void): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (said.has(line)) return;
    said.add(line);
    log(line);
  };
}

export type Opened = { readonly body: string; readonly run: string } | { readonly refused: string };

/**
 * Opens what the other side sealed on one channel, refusing anything unsigned, signed with another
 * key or for another channel, stale, for another run, or replayed. `order` says what a replay is:
 * `increasing` for a stream of messages (each one once), `repeatable` for a value read again and
 * again until it is replaced (a claim, a registration): an older one than already seen is refused.
 */
export class Opener {
  private lastSeq = 0;
  private lastRun: string | null = null;

  constructor(
    private readonly key: Buffer,
    private readonly channel: string,
    private readonly order: 'increasing' | 'repeatable',
    private readonly nowMs: () => number = Date.now,
  ) {}

  open(text: string, run: string | null = null): Opened {
    let envelope: Partial<Envelope>;
    try {
      envelope = JSON.parse(text) as Partial<Envelope>;
    } catch {
      return { refused: 'not a sealed message' };
    }
    const { run: sealedRun, seq, exp, body, mac } = envelope ?? {};
    if (typeof sealedRun !== 'string' || typeof seq !== 'number' || typeof exp !== 'number' || typeof body !== 'string' || typeof mac !== 'string') return { refused: 'unsigned' };
    const expected = Buffer.from(macOf(this.key, this.channel, sealedRun, seq, exp, body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'bad signature (another key, or altered)' };
    if (exp < this.nowMs()) return { refused: `stale (expired ${Math.round((this.nowMs() - exp) / 1000)} s ago)` };
    if (run !== null && sealedRun !== run) return { refused: `for another run (${sealedRun})` };
    // A new run starts its own numbering; within one, a number seen before (or older) is a replay.
    if (sealedRun === this.lastRun && (this.order === 'increasing' ? seq <= this.lastSeq : seq < this.lastSeq)) return { refused: `replayed (message ${seq}, after ${this.lastSeq})` };
    this.lastRun = sealedRun;
    this.lastSeq = seq;
    return { body, run: sealedRun };
  }
}
