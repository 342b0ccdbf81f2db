import { appendFileSync, closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SampleRow } from '../core/result.js';

/** Rows kept in memory: the last 10 minutes at one a second (a soak's interval is read from here). */
const MEMORY_ROWS = 600;
/** Rows written to the spill file at once: one small synchronous write every few minutes. */
const SPILL_BATCH_ROWS = 300;
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * The per-second sample rows of one transport run, in order, with memory that does not grow with the
 * run's length.
 *
 * A soak samples every second for hours (up to a week): held as objects, the rows grow the
 * generator's heap for as long as the run lasts, and that growth was read as its memory trend.
 * Here the newest rows stay in memory (what a step or an interval reads)
 * and older ones go, as one JSON line each, to a file in a private temporary folder. Iterating reads
 * that file back in fixed-size chunks, so a checkpoint that writes every row allocates only short-lived
 * objects. JSON keeps every field exactly (numbers, nulls, booleans).
 */
export class SampleLog implements Iterable<SampleRow> {
  private memory: SampleRow[] = [];
  private folder: string | null = null;
  private spilled = 0;

  constructor(
    private readonly memoryRows = MEMORY_ROWS,
    private readonly batchRows = SPILL_BATCH_ROWS,
  ) {}

  get length(): number {
    return this.spilled + this.memory.length;
  }

  /** Rows now in memory (the newest ones), for tests and for the memory bound. */
  get inMemory(): number {
    return this.memory.length;
  }

  append(row: SampleRow): void {
    this.memory.push(row);
    if (this.memory.length >= this.memoryRows + this.batchRows) this.spill(this.batchRows);
  }

  last(): SampleRow | undefined {
    return this.memory.at(-1);
  }

  /** Replaces the newest row (the sampler folds a short last interval into it). */
  replaceLast(row: SampleRow): void {
    if (this.memory.length === 0) throw new Error('replaceLast on an empty sample log');
    this.memory[this.memory.length - 1] = row;
  }

  /** The newest `count` rows, oldest first; from memory when they are all there. */
  recent(count: number): SampleRow[] {
    if (count <= this.memory.length) return this.memory.slice(this.memory.length - count);
    const all = [...this];
    return all.slice(Math.max(0, all.length - count));
  }

  *[Symbol.iterator](): Iterator<SampleRow> {
    // The memory rows are copied first: a sample appended while a caller iterates (across an await)
    // could otherwise spill rows out from under the read, or show up twice.
    const spilled = this.spilled;
    const memory = this.memory.slice();
    if (spilled > 0) yield* this.readSpill(spilled);
    yield* memory;
  }

  /** JSON.stringify writes the log as the array of its rows (output/stream-write.ts streams it instead). */
  toJSON(): SampleRow[] {
    return [...this];
  }

  /** Deletes the spill file and its folder; the log holds only what is in memory afterwards. Safe to call twice. */
  close(): void {
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = null;
    this.spilled = 0;
  }

  /** The rows read back as one array, then the spill file deleted: for a run's final result. */
  drain(): SampleRow[] {
    const all = [...this];
    this.close();
    // A new array, not a splice of `...all`: a week's rows are too many arguments for one call.
    this.memory = all.slice();
    return all;
  }

  private file(): string {
    this.folder ??= mkdtempSync(join(tmpdir(), 'rtbench-samples-'));
    return join(this.folder, 'rows.ndjson');
  }

  private spill(count: number): void {
    const rows = this.memory.splice(0, count);
    appendFileSync(this.file(), rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    this.spilled += rows.length;
  }

  /** The first `count` spilled rows, parsed one line at a time. */
  private *readSpill(count: number): Generator<SampleRow> {
    const fd = openSync(this.file(), 'r');
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      let carry = '';
      let read = 0;
      let position = 0;
      for (;;) {
        const bytes = readSync(fd, buffer, 0, buffer.length, position);
        if (bytes === 0) break;
        position += bytes;
        // Rows are ASCII (numbers, booleans, field names), so a chunk never ends inside a character.
        const text = carry + buffer.toString('latin1', 0, bytes);
        let start = 0;
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
          yield JSON.parse(text.slice(start, end)) as SampleRow;
          start = end + 1;
          if (++read === count) return;
        }
        carry = text.slice(start);
      }
    } finally {
      closeSync(fd);
    }
  }
}
