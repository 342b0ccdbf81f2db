/**
 * Durations on the command line take units (`500ms`, `1.5s`, `90s`, `30m`, `1h`); a bare number is
 * milliseconds. Everything inside rtbench then carries its unit in its name (`gapMs`).
 */
const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?$/;

/** Parses a duration into milliseconds; returns null when the text is not a duration. */
export function parseDurationMs(text: string): number | null {
  const match = PATTERN.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]);
  const unitMs = UNIT_MS[match[2] ?? 'ms'];
  if (unitMs === undefined || !Number.isFinite(value)) return null;
  return value * unitMs;
}

export function formatDurationMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
