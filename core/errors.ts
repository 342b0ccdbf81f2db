/**
 * The catalogue of rtbench's own errors: one code, one exit status each. A failure while measuring
 * a transport becomes a row in the result (state `failed`), not a crash; these errors are for what
 * stops rtbench itself.
 */
export const EXIT = {
  ok: 0,
  /** The run could not be carried out (server would not start, target unreachable, ...). */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** The run completed and wrote everything, but a `--threshold` failed. */
  thresholds: 3,
  /** `rtbench compare`: NEW regressed against BASE. */
  regression: 4,
  /** `rtbench compare`: too few repeats on a side to call a latency change either way. */
  inconclusive: 5,
  /** Stopped by SIGINT (128 + 2), results of what was measured are written. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15), results of what was measured are written. */
  terminated: 143,
} as const;

export type RtbErrorCode =
  | 'RTB_ERR_USAGE'
  | 'RTB_ERR_TARGET_UNREACHABLE'
  | 'RTB_ERR_CHILD_START'
  | 'RTB_ERR_NOT_READY'
  | 'RTB_ERR_PREFLIGHT'
  | 'RTB_ERR_PINNING';

const EXIT_BY_CODE: Record<RtbErrorCode, number> = {
  RTB_ERR_USAGE: EXIT.usage,
  RTB_ERR_TARGET_UNREACHABLE: EXIT.failed,
  RTB_ERR_CHILD_START: EXIT.failed,
  RTB_ERR_NOT_READY: EXIT.failed,
  /** The machine cannot carry the requested load (file descriptors, ports, memory): said before starting. */
  RTB_ERR_PREFLIGHT: EXIT.failed,
  /** A process could not be pinned to the CPUs asked for (`--server-cpus`, `--generator-cpus`). */
  RTB_ERR_PINNING: EXIT.failed,
};

export class RtbError extends Error {
  readonly code: RtbErrorCode;
  readonly exitCode: number;

  constructor(code: RtbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RtbError';
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
  }
}

/** A usage error names the option, the value given, and what is accepted. */
export function usageError(option: string, value: unknown, accepted: string): RtbError {
  return new RtbError('RTB_ERR_USAGE', `option '${option}': ${JSON.stringify(value)} is not valid; expected ${accepted}`);
}

/** A short, stable code for any error, used to count errors by kind. */
export function errorCode(err: unknown): string {
  if (err instanceof RtbError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  if (err instanceof Error && err.name) return err.name;
  return 'UNKNOWN';
}
