/** Every benchmark. Adding one: `bench/<name>.ts` exporting `bench`, and one line here. */
import type { Benchmark } from './harness.ts';

export const benchmarks: readonly Benchmark[] = [
];
