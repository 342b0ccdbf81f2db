import { seededRandom } from '../../core/random.js';

/** Cuts the proxy's seeded random loss makes over `connections` that are all open again at each draw. */
export function seededCuts(seed: number, probability: number, connections: number, draws: number): number {
  const random = seededRandom(seed);
  let cuts = 0;
  for (let draw = 0; draw < draws; draw++) for (let c = 0; c < connections; c++) if (random() < probability) cuts++;
  return cuts;
}
