/** Every benchmark. Adding one: `bench/<name>.ts` exporting `bench`, and one line here. */
import type { Benchmark } from './harness.ts';
import { bench as stateCommit } from './state-commit.ts';

export const benchmarks: readonly Benchmark[] = [
  stateCommit,
];
