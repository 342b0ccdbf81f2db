/** Counts and usage figures shared by a whole result and its parts (steps, intervals, faults). */
export interface MessageCounts {
  /** Subscriber x message pairs that should have arrived (only messages whose send was attempted). */
  readonly expected: number;
  /** Arrived within the deadline, first copy only. */
  readonly received: number;
  /** Did not arrive within the deadline (includes `late`). */
  readonly lost: number;
  /** Of the lost, those that arrived after their deadline. */
  readonly late: number;
  /** Extra copies of a message a subscriber already had. */
  readonly duplicated: number;
  /** Arrived after a message with a higher sequence number at the same subscriber. */
  readonly outOfOrder: number;
  /** Not yet due when the run stopped (only an interrupted run has any); neither received nor lost. */
  readonly pending: number;
  /** Content that carried no marker of this run (another client's traffic in the room). */
  readonly foreign: number;
}

export interface ProcessUsage {
  /** Percent of one core (200 = two cores busy). */
  readonly cpuPctAvg: number | null;
  readonly cpuPctMax: number | null;
  readonly rssBytesMax: number | null;
}
