/**
 * Messages sent over a whole run, for the per-second samples' `messagesSent`. Each round or step
 * counts its own from zero (its Recorder), and the sampler writes the difference between two
 * readings: read from the current round alone, the count fell back at every new round and the
 * samples showed negative seconds. This keeps what the finished rounds sent.
 */
export interface CountsSent {
  readonly attemptedMessages: number;
}

export class SentCounter {
  private finished = 0;
  private current: CountsSent | null = null;

  /** The round or step now sending (null between them); what the previous one sent is kept. */
  follow(round: CountsSent | null): void {
    if (round === this.current) return;
    this.finished += this.current?.attemptedMessages ?? 0;
    this.current = round;
  }

  get total(): number {
    return this.finished + (this.current?.attemptedMessages ?? 0);
  }
}
