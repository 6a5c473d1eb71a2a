/**
 * The seeded PRNG the tests share: the generator source's mulberry32 (`Prng`) as a plain
 * function, so a failing test replays exactly from its printed seed.
 */
import { Prng } from '../../src/sources/generator/prng.ts';

/** A uniform float in [0, 1) per call; equal seeds give equal sequences. */
export function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}
