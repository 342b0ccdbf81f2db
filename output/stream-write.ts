import { open } from 'node:fs/promises';

/**
 * Writing a long run's results without one big allocation per checkpoint.
 *
 * A soak rewrites summary.json and samples.csv every round, and both grow by a row every second, so
 * building each as one string and one buffer allocates more at every checkpoint of a long run. Here
 * the text is produced in small pieces and copied through one fixed-size buffer, so a checkpoint
 * allocates the same small amounts in the first minute and hours later.
 */

const CHUNK_BYTES = 64 * 1024;

/** Writes the pieces to `path` (replacing it) through one 64 KiB buffer. */
export async function writePieces(path: string, pieces: Iterable<string>): Promise<void> {
  const file = await open(path, 'w');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let used = 0;
    for (const piece of pieces) {
      // A UTF-8 byte count is at most 3 per UTF-16 unit: the check needs no encoding pass.
      if (used + piece.length * 3 > CHUNK_BYTES) {
        if (used > 0) await file.write(buffer, 0, used);
        used = 0;
        if (piece.length * 3 > CHUNK_BYTES) {
          await file.write(piece);
          continue;
        }
      }
      used += buffer.write(piece, used);
    }
    if (used > 0) await file.write(buffer, 0, used);
  } finally {
    await file.close();
  }
}

function isPlainContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** An object or array whose members are all primitives and which has no toJSON: JSON.stringify writes it whole. */
function isFlat(value: object): boolean {
  if (!Array.isArray(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const member of Object.values(value)) if (isPlainContainer(member)) return false;
  return true;
}

/**
 * The text of `JSON.stringify(value, null, 2)`, in pieces: containers are walked here and every
 * primitive is written by JSON.stringify itself, so strings are escaped and non-finite numbers become
 * null exactly as there. Undefined, function and symbol members are left out of objects and written
 * as null in arrays, and `toJSON` is honoured, as JSON.stringify does.
 */
export function* jsonPieces(value: unknown, indent = '', key = ''): Generator<string> {
  if (isRowLog(value)) {
    yield* itemPieces(value, indent);
    return;
  }
  const resolved = isPlainContainer(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(k: string): unknown }).toJSON(key) : value;
  if (!isPlainContainer(resolved)) {
    yield JSON.stringify(resolved) ?? 'null';
    return;
  }
  if (isFlat(resolved)) {
    // A row of primitives (a per-second sample) is one piece: a fraction of the pieces and the time.
    const text = JSON.stringify(resolved, null, 2);
    yield indent === '' ? text : text.replaceAll('\n', `\n${indent}`);
    return;
  }
  if (Array.isArray(resolved)) {
    yield* itemPieces(resolved, indent);
    return;
  }
  const inner = `${indent}  `;
  let first = true;
  for (const name of Object.keys(resolved)) {
    const member: unknown = (resolved as Record<string, unknown>)[name];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(name)}: `;
    first = false;
    yield* jsonPieces(member, inner, name);
  }
  yield first ? '{}' : `\n${indent}}`;
}

/**
 * A sequence that is not an array but has a toJSON giving its items as one (run/sample-log.ts: a
 * run's rows, mostly on disk): written item by item, so the whole array is never built.
 */
function isRowLog(value: unknown): value is Iterable<unknown> {
  // A Buffer is iterable and has a toJSON too, of another shape: it is left to toJSON.
  return isPlainContainer(value) && !Array.isArray(value) && !ArrayBuffer.isView(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function' && Symbol.iterator in value;
}

/** The items of an array (or of a sequence written as one), as JSON.stringify writes an array's. */
function* itemPieces(items: Iterable<unknown>, indent: string): Generator<string> {
  const inner = `${indent}  `;
  let i = 0;
  for (const item of items) {
    yield i === 0 ? `[\n${inner}` : `,\n${inner}`;
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
    else yield* jsonPieces(item, inner, String(i));
    i++;
  }
  yield i === 0 ? '[]' : `\n${indent}]`;
}

/** Writes `JSON.stringify(value, null, 2)` and a newline to `path`, in pieces. */
export function writeJson(path: string, value: unknown): Promise<void> {
  return writePieces(path, (function* () {
    yield* jsonPieces(value);
    yield '\n';
  })());
}
