/**
 * A least-squares line fitted one point at a time. A soak's memory slope is fitted over every
 * per-second row of the run, and most of those rows come back from disk (run/sample-log.ts):
 * folding them as they are read keeps five numbers instead of an array of every row, which at each
 * checkpoint of a long soak left megabytes of garbage in V8's young generation.
 *
 * The running means and co-moments (Welford's update) rather than plain sums: over a week of
 * seconds, a sum of x·y with x up to 6·10^5 s and y about 10^8 bytes passes 2^53 and loses the
 * digits the slope is made of.
 */
export class LinearFit {
  count = 0;
  private meanX = 0;
  private meanY = 0;
  /** Σ (x − meanX)(y − meanY) */
  private coMoment = 0;
  /** Σ (x − meanX)² */
  private squaresX = 0;

  add(x: number, y: number): void {
    this.count++;
    const dx = x - this.meanX;
    this.meanX += dx / this.count;
    this.meanY += (y - this.meanY) / this.count;
    // dx is taken against the old mean and (y − meanY) against the new one: that product is exact.
    this.coMoment += dx * (y - this.meanY);
    this.squaresX += dx * (x - this.meanX);
  }

  /** Change of y per unit of x; null with fewer than two points or no spread in x. */
  slope(): number | null {
    return this.count < 2 || this.squaresX === 0 ? null : this.coMoment / this.squaresX;
  }
}
