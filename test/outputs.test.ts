import { describe, expect, it } from 'vitest';
import { terminalOutput } from '../commands/outputs.js';
import type { RunSummary } from '../core/result.js';
import { everyOutput, type RunOutput } from '../run/request.js';
import type { Scenario } from '../run/scenario.js';

const summary = { transports: [] } as unknown as RunSummary;
const scenario = { name: 'burst', tables: () => [] } as unknown as Scenario<unknown>;

/** A stream that keeps what is written to it, a terminal or not. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const written = { text: '', isTTY, write: (chunk: string) => ((written.text += chunk), true) };
  return written as unknown as NodeJS.WriteStream & { text: string };
}

describe('run outputs', () => {
  it('every event reaches every output that takes it, in the outputs\' order, each awaited before the next', async () => {
    const seen: string[] = [];
    const slow = (name: string): RunOutput => ({
      phase: (line) => seen.push(`${name} phase ${line}`),
      checkpoint: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(`${name} checkpoint`);
      },
      done: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(`${name} done`);
      },
    });
    const onlyDone: RunOutput = { done: async () => void seen.push('last done') };
    const all = everyOutput([slow('a'), slow('b'), onlyDone]);
    all.phase('connecting');
    all.progress('1/2');
    await all.checkpoint(summary);
    await all.done(summary);
    expect(seen).toEqual(['a phase connecting', 'b phase connecting', 'a checkpoint', 'b checkpoint', 'a done', 'b done', 'last done']);
  });

  it('the terminal shows phase lines unless quiet or --json, and the live line only on a terminal, cleared before the next phase', () => {
    const tty = stream(true);
    const terminal = terminalOutput(scenario, { quiet: false, json: false }, tty);
    terminal.progress?.('sent 10');
    terminal.phase?.('ws: measuring');
    expect(tty.text).toBe('\r\x1b[Ksent 10\r\x1b[Krtbench: ws: measuring\n');
    const pipe = stream(false);
    const piped = terminalOutput(scenario, { quiet: false, json: false }, pipe);
    piped.progress?.('sent 10');
    piped.phase?.('ws: measuring');
    expect(pipe.text).toBe('rtbench: ws: measuring\n');
    for (const common of [{ quiet: true, json: false }, { quiet: false, json: true }]) {
      const quiet = stream(true);
      const output = terminalOutput(scenario, common, quiet);
      output.phase?.('ws: measuring');
      output.progress?.('sent 10');
      expect(quiet.text).toBe('');
    }
  });
});
