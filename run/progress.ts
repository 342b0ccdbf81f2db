import type { RunLog } from './request.js';

/**
 * Phase lines go to stderr (unless quiet); the live progress line only when stderr is a terminal,
 * so logs of CI jobs and `--json` pipes stay clean.
 */
export function stderrRunLog(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): RunLog & { clear(): void } {
  const live = stream.isTTY === true && !quiet;
  let shown = false;
  const clear = (): void => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    log(line) {
      if (quiet) return;
      clear();
      stream.write(`rtbench: ${line}\n`);
    },
    progress(line) {
      if (!live) return;
      stream.write(`\r\x1b[K${line}`);
      shown = true;
    },
    clear,
  };
}
