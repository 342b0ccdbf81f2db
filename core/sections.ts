/**
 * What a scenario reports, as data: sections of a title and a table (or plain lines). Scenarios
 * build them from their results; the writers in output/ render them for the terminal and for
 * summary.md without knowing any scenario's shape.
 */
export interface TableSection {
  readonly title: string;
  readonly headers?: readonly string[];
  readonly rows?: readonly (readonly string[])[];
  /** Lines shown after the table (or alone), e.g. warnings. */
  readonly lines?: readonly string[];
}

/** A file a scenario adds to its run folder (a soak's intervals.csv). */
export interface RunFile {
  readonly name: string;
  readonly content: string;
}
